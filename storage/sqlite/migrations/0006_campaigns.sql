-- Campaigns, the offers they make to influencers, the promo codes agencies import, the groups
-- and channels agencies link as broadcast targets, and how each person wants to be alerted.
-- Money is integer minor units with an ISO 4217 code, or basis points of a sale; times are
-- ISO 8601 UTC text.

CREATE TABLE campaigns (
    id               INTEGER PRIMARY KEY,
    agency_id        INTEGER NOT NULL REFERENCES agencies (id) ON DELETE CASCADE,
    brand            TEXT    NOT NULL,
    title            TEXT    NOT NULL,
    brief            TEXT    NOT NULL,
    commission_kind  TEXT    NOT NULL CHECK (commission_kind IN ('percent', 'fixed')),
    -- percent: basis points of a sale (1250 = 12.5 %); fixed: minor units of currency.
    commission_bps   INTEGER CHECK (commission_bps BETWEEN 1 AND 10000),
    commission_minor INTEGER CHECK (commission_minor > 0),
    currency         TEXT    CHECK (currency IS NULL OR length(currency) = 3),
    min_followers    INTEGER NOT NULL DEFAULT 0 CHECK (min_followers >= 0),
    slots            INTEGER NOT NULL CHECK (slots > 0),
    -- Acceptances so far: the slot take compares and sets it, and the check makes a slot
    -- past the last one impossible whatever the code does.
    slots_taken      INTEGER NOT NULL DEFAULT 0 CHECK (slots_taken >= 0 AND slots_taken <= slots),
    deadline         TEXT    NOT NULL,
    landing_url      TEXT    NOT NULL,
    status           TEXT    NOT NULL DEFAULT 'draft'
                     CHECK (status IN ('draft', 'publishing', 'published', 'paused', 'closed')),
    -- How many influencers matched when publishing began: the whole of a progress bar.
    audience         INTEGER CHECK (audience >= 0),
    created_by       TEXT    NOT NULL,
    created_at       TEXT    NOT NULL,
    updated_at       TEXT    NOT NULL,
    published_at     TEXT,
    closed_at        TEXT,
    CHECK (
        (commission_kind = 'percent' AND commission_bps IS NOT NULL
            AND commission_minor IS NULL AND currency IS NULL)
        OR (commission_kind = 'fixed' AND commission_bps IS NULL
            AND commission_minor IS NOT NULL AND currency IS NOT NULL)
    )
);
CREATE INDEX campaigns_agency ON campaigns (agency_id, id);
CREATE INDEX campaigns_status ON campaigns (status, id);

-- Targeting as sets, so matching is a join: a campaign with no rows in one of these tables
-- takes every country (or niche).
CREATE TABLE campaign_countries (
    campaign_id INTEGER NOT NULL REFERENCES campaigns (id) ON DELETE CASCADE,
    country     TEXT    NOT NULL,
    PRIMARY KEY (campaign_id, country)
);
CREATE INDEX campaign_countries_country ON campaign_countries (country);

CREATE TABLE campaign_niches (
    campaign_id INTEGER NOT NULL REFERENCES campaigns (id) ON DELETE CASCADE,
    niche       TEXT    NOT NULL,
    PRIMARY KEY (campaign_id, niche)
);
CREATE INDEX campaign_niches_niche ON campaign_niches (niche);

-- One offer per influencer and campaign, whoever makes it and however often.
CREATE TABLE offers (
    id             INTEGER PRIMARY KEY,
    campaign_id    INTEGER NOT NULL REFERENCES campaigns (id) ON DELETE CASCADE,
    person_id      INTEGER NOT NULL REFERENCES people (id) ON DELETE CASCADE,
    status         TEXT    NOT NULL DEFAULT 'offered'
                   CHECK (status IN ('offered', 'accepted', 'declined', 'withdrawn',
                                     'submitted')),
    ref_code       TEXT UNIQUE,
    promo_code     TEXT,
    decline_reason TEXT,
    decline_note   TEXT,
    content_url    TEXT,
    created_at     TEXT    NOT NULL,
    updated_at     TEXT    NOT NULL,
    accepted_at    TEXT,
    declined_at    TEXT,
    submitted_at   TEXT,
    withdrawn_at   TEXT,
    reminded_48h_at TEXT,
    reminded_2h_at TEXT,
    UNIQUE (campaign_id, person_id),
    UNIQUE (campaign_id, promo_code)
);
CREATE INDEX offers_person ON offers (person_id, status);
CREATE INDEX offers_campaign_status ON offers (campaign_id, status);

-- Where an offer's card was sent (one row per platform chat), so closing a campaign can edit
-- it, whatever the outbox has purged since.
CREATE TABLE offer_messages (
    offer_id   INTEGER NOT NULL REFERENCES offers (id) ON DELETE CASCADE,
    platform   TEXT    NOT NULL,
    chat       TEXT    NOT NULL,
    message_id TEXT    NOT NULL,
    sent_at    TEXT    NOT NULL,
    PRIMARY KEY (offer_id, platform, chat)
);
CREATE INDEX offer_messages_sent ON offer_messages (sent_at);

-- Codes an agency imported for a campaign; offer_id says who was given one.
CREATE TABLE campaign_codes (
    id          INTEGER PRIMARY KEY,
    campaign_id INTEGER NOT NULL REFERENCES campaigns (id) ON DELETE CASCADE,
    code        TEXT    NOT NULL,
    offer_id    INTEGER UNIQUE REFERENCES offers (id) ON DELETE SET NULL,
    imported_at TEXT    NOT NULL,
    UNIQUE (campaign_id, code)
);
CREATE INDEX campaign_codes_free ON campaign_codes (campaign_id, id) WHERE offer_id IS NULL;

-- Groups and channels an agency broadcasts to. A chat belongs to one agency at a time.
CREATE TABLE agency_chats (
    id        INTEGER PRIMARY KEY,
    agency_id INTEGER NOT NULL REFERENCES agencies (id) ON DELETE CASCADE,
    platform  TEXT    NOT NULL,
    chat      TEXT    NOT NULL,
    title     TEXT    NOT NULL DEFAULT '',
    linked_by TEXT    NOT NULL,
    linked_at TEXT    NOT NULL,
    UNIQUE (platform, chat)
);
CREATE INDEX agency_chats_agency ON agency_chats (agency_id);

-- A campaign's post in a linked chat, kept for edits when it pauses or closes.
CREATE TABLE campaign_posts (
    campaign_id    INTEGER NOT NULL REFERENCES campaigns (id) ON DELETE CASCADE,
    agency_chat_id INTEGER NOT NULL REFERENCES agency_chats (id) ON DELETE CASCADE,
    message_id     TEXT    NOT NULL,
    posted_at      TEXT    NOT NULL,
    PRIMARY KEY (campaign_id, agency_chat_id)
);

-- No row means the defaults: instant alerts, quiet from 22:00 to 08:00 local time. Quiet
-- hours are minutes after local midnight; start after end spans midnight, equal means none.
CREATE TABLE alert_settings (
    person_id     INTEGER PRIMARY KEY REFERENCES people (id) ON DELETE CASCADE,
    mode          TEXT    NOT NULL DEFAULT 'instant'
                  CHECK (mode IN ('instant', 'digest', 'off')),
    digest_hour   INTEGER NOT NULL DEFAULT 9 CHECK (digest_hour BETWEEN 0 AND 23),
    quiet_start   INTEGER NOT NULL DEFAULT 1320 CHECK (quiet_start BETWEEN 0 AND 1439),
    quiet_end     INTEGER NOT NULL DEFAULT 480 CHECK (quiet_end BETWEEN 0 AND 1439),
    -- The local date of the last digest sent: one a day, whatever restarts.
    digest_sent_on TEXT,
    updated_at    TEXT    NOT NULL
);
CREATE INDEX alert_settings_mode ON alert_settings (mode) WHERE mode <> 'instant';

-- Matching starts from approved people in the target countries.
CREATE INDEX people_status_country ON people (status, country);
