"""kolbot: a chat bot for influencer programmes."""
