from __future__ import annotations

import pytest

from handlers.validators import NETWORK_LABELS, NETWORKS, Invalid, parse_handle
from handlers.validators.social import (
    FACEBOOK_FORMAT,
    HANDLE_EMPTY,
    HANDLE_LENGTH,
    INSTAGRAM_FORMAT,
    NOT_A_LINK,
    NOT_A_POST,
    NOT_A_PROFILE,
    NOT_YOUR_ACCOUNT,
    NOT_YOUR_NETWORKS,
    TIKTOK_FORMAT,
    TWITCH_FORMAT,
    WRONG_NETWORK,
    X_FORMAT,
    YOUTUBE_CHANNEL_ID,
    YOUTUBE_FORMAT,
    PostLink,
    parse_post_link,
)
from handlers.validators.text import TOO_LONG


def test_every_network_has_a_label() -> None:
    assert NETWORKS == ("instagram", "tiktok", "youtube", "x", "facebook", "twitch")
    assert set(NETWORK_LABELS) == set(NETWORKS)
    assert NETWORK_LABELS["tiktok"] == "TikTok"
    assert NETWORK_LABELS["youtube"] == "YouTube"
    assert NETWORK_LABELS["x"] == "X"


def test_unknown_network_is_a_programming_error() -> None:
    with pytest.raises(KeyError):
        parse_handle("myspace", "tom")


@pytest.mark.parametrize(
    ("network", "raw", "expected"),
    [
        # Instagram
        ("instagram", "some.user", "some.user"),
        ("instagram", "@some.user", "some.user"),
        ("instagram", "  @Some.User  ", "some.user"),
        ("instagram", "SOME_USER_1", "some_user_1"),
        ("instagram", "a", "a"),
        ("instagram", "a" * 30, "a" * 30),
        ("instagram", "a.b.c_", "a.b.c_"),
        ("instagram", "_under_", "_under_"),
        ("instagram", "123", "123"),
        ("instagram", "https://www.instagram.com/some.user/?hl=en", "some.user"),
        ("instagram", "instagram.com/some.user", "some.user"),
        ("instagram", "www.instagram.com/some.user/", "some.user"),
        ("instagram", "http://instagram.com/Some.User", "some.user"),
        ("instagram", "https://m.instagram.com/some.user", "some.user"),
        ("instagram", "HTTPS://WWW.INSTAGRAM.COM/SOME.USER", "some.user"),
        ("instagram", "https://www.instagram.com/some.user/reels/", "some.user"),
        ("instagram", "https://www.instagram.com/some.user/p/C0ffee/", "some.user"),
        ("instagram", "https://instagram.com/some.user#top", "some.user"),
        ("instagram", "https://instagram.com:443/some.user", "some.user"),
        ("instagram", "https://instagr.am/some.user", "some.user"),
        ("instagram", "instagram.com/@some.user", "some.user"),
        # TikTok
        ("tiktok", "some_user", "some_user"),
        ("tiktok", "@Some.User", "some.user"),
        ("tiktok", "ab", "ab"),
        ("tiktok", "a" * 24, "a" * 24),
        ("tiktok", ".dot.start", ".dot.start"),
        ("tiktok", "https://www.tiktok.com/@some_user", "some_user"),
        ("tiktok", "tiktok.com/@some_user?lang=en", "some_user"),
        ("tiktok", "https://m.tiktok.com/@Some_User/video/7234567890123456789", "some_user"),
        ("tiktok", "https://www.tiktok.com/%40some_user", "some_user"),
        # YouTube
        ("youtube", "SomeChannel", "somechannel"),
        ("youtube", "@SomeChannel", "somechannel"),
        ("youtube", "abc", "abc"),
        ("youtube", "a" * 30, "a" * 30),
        ("youtube", "some-channel.tv_1", "some-channel.tv_1"),
        ("youtube", "https://m.youtube.com/@SomeChannel/videos", "somechannel"),
        ("youtube", "https://www.youtube.com/@SomeChannel", "somechannel"),
        ("youtube", "youtube.com/@some-channel/shorts", "some-channel"),
        ("youtube", "UCLA_fan", "ucla_fan"),
        ("youtube", "ucuaxfkgsw1l7xacfnd5jjow", "ucuaxfkgsw1l7xacfnd5jjow"),
        # X
        ("x", "jack", "jack"),
        ("x", "@Jack", "jack"),
        ("x", "j", "j"),
        ("x", "a" * 15, "a" * 15),
        ("x", "under_score_1", "under_score_1"),
        ("x", "https://twitter.com/jack", "jack"),
        ("x", "https://x.com/jack/status/1", "jack"),
        ("x", "x.com/Jack", "jack"),
        ("x", "mobile.twitter.com/jack/with_replies", "jack"),
        ("x", "https://www.x.com/jack?s=20", "jack"),
        ("x", "x.com/@jack", "jack"),
        # Facebook
        ("facebook", "some.page", "some.page"),
        ("facebook", "Some.Page", "some.page"),
        ("facebook", "abcde", "abcde"),
        ("facebook", "a" * 50, "a" * 50),
        ("facebook", "https://www.facebook.com/some.page", "some.page"),
        ("facebook", "facebook.com/some.page/photos", "some.page"),
        ("facebook", "https://m.facebook.com/some.page", "some.page"),
        ("facebook", "https://web.facebook.com/some.page/?ref=bookmarks", "some.page"),
        ("facebook", "fb.com/some.page", "some.page"),
        # Accounts without a username: the numeric id stands in for it.
        ("facebook", "https://www.facebook.com/profile.php?id=100012345678901", "100012345678901"),
        ("facebook", "facebook.com/profile.php?id=100012345678901", "100012345678901"),
        (
            "facebook",
            "https://m.facebook.com/profile.php?id=100012345678901&sk=about",
            "100012345678901",
        ),
        ("facebook", "https://www.facebook.com/profile.php?id=4", "4"),
        (
            "facebook",
            "https://www.facebook.com/people/Anna-Kowalska/100012345678901/",
            "100012345678901",
        ),
        ("facebook", "facebook.com/people/Some-Name/100012345678901", "100012345678901"),
        ("facebook", "https://www.facebook.com/100012345678901", "100012345678901"),
        # Twitch
        ("twitch", "streamer", "streamer"),
        ("twitch", "@Streamer", "streamer"),
        ("twitch", "abcd", "abcd"),
        ("twitch", "a" * 25, "a" * 25),
        ("twitch", "stream_er_", "stream_er_"),
        ("twitch", "https://www.twitch.tv/streamer", "streamer"),
        ("twitch", "twitch.tv/Streamer/videos", "streamer"),
        ("twitch", "https://m.twitch.tv/streamer", "streamer"),
    ],
)
def test_parse_handle_accepts(network: str, raw: str, expected: str) -> None:
    assert parse_handle(network, raw) == expected


@pytest.mark.parametrize(
    ("network", "raw", "message"),
    [
        # Wrong characters or shape, per network.
        ("instagram", ".some", INSTAGRAM_FORMAT),
        ("instagram", "some.", INSTAGRAM_FORMAT),
        ("instagram", "so..me", INSTAGRAM_FORMAT),
        ("instagram", "some-user", INSTAGRAM_FORMAT),
        ("instagram", "some user", INSTAGRAM_FORMAT),
        ("instagram", "@@some", INSTAGRAM_FORMAT),
        ("instagram", "café", INSTAGRAM_FORMAT),
        ("instagram", "some.user!", INSTAGRAM_FORMAT),
        ("instagram", "https://instagram.com/some..user", INSTAGRAM_FORMAT),
        ("tiktok", "some.", TIKTOK_FORMAT),
        ("tiktok", "some-user", TIKTOK_FORMAT),
        ("tiktok", "имяя", TIKTOK_FORMAT),
        ("tiktok", "tiktok.com/@some.", TIKTOK_FORMAT),
        ("youtube", "some channel", YOUTUBE_FORMAT),
        ("youtube", "some+channel", YOUTUBE_FORMAT),
        ("youtube", "youtube.com/@some%20channel", YOUTUBE_FORMAT),
        ("youtube", "канал", YOUTUBE_FORMAT),
        ("x", "some.user", X_FORMAT),
        ("x", "some-user", X_FORMAT),
        ("x", "\u212aim", X_FORMAT),
        ("x", "x.com/j.ack", X_FORMAT),
        ("facebook", "some_page", FACEBOOK_FORMAT),
        ("facebook", "some-page", FACEBOOK_FORMAT),
        ("facebook", "facebook.com/some_page", FACEBOOK_FORMAT),
        ("twitch", "_streamer", TWITCH_FORMAT),
        ("twitch", "stream.er", TWITCH_FORMAT),
        ("twitch", "stream-er", TWITCH_FORMAT),
        ("twitch", "twitch.tv/_streamer", TWITCH_FORMAT),
        # Links that are not a profile.
        ("instagram", "https://www.instagram.com/p/C0ffee/", NOT_A_PROFILE),
        ("instagram", "instagram.com/reel/C0ffee", NOT_A_PROFILE),
        ("instagram", "instagram.com/reels/C0ffee", NOT_A_PROFILE),
        ("instagram", "instagram.com/stories/some.user/123", NOT_A_PROFILE),
        ("instagram", "instagram.com/explore/tags/cats", NOT_A_PROFILE),
        ("instagram", "instagram.com/accounts/login", NOT_A_PROFILE),
        ("instagram", "https://www.instagram.com/", NOT_A_PROFILE),
        ("instagram", "instagram.com", NOT_A_PROFILE),
        ("instagram", "www.instagram.com", NOT_A_PROFILE),
        ("instagram", "https://instagram.com/?u=some.user", NOT_A_PROFILE),
        ("instagram", "https://help.instagram.com/some.user", NOT_A_PROFILE),
        ("tiktok", "https://www.tiktok.com/foryou", NOT_A_PROFILE),
        ("tiktok", "https://vm.tiktok.com/ZMabc123/", NOT_A_PROFILE),
        ("tiktok", "https://www.tiktok.com/t/ZTabc123/", NOT_A_PROFILE),
        ("youtube", "https://www.youtube.com/watch?v=dQw4w9WgXcQ", NOT_A_PROFILE),
        ("youtube", "https://youtu.be/dQw4w9WgXcQ", NOT_A_PROFILE),
        ("youtube", "youtube.com/shorts/abc", NOT_A_PROFILE),
        ("youtube", "youtube.com/playlist?list=PL1", NOT_A_PROFILE),
        ("youtube", "youtube.com/SomeLegacyName", NOT_A_PROFILE),
        ("youtube", "https://music.youtube.com/@SomeChannel", NOT_A_PROFILE),
        ("x", "https://x.com/i/status/1", NOT_A_PROFILE),
        ("x", "https://twitter.com/home", NOT_A_PROFILE),
        ("x", "https://twitter.com/search?q=cats", NOT_A_PROFILE),
        ("x", "https://x.com/hashtag/cats", NOT_A_PROFILE),
        ("facebook", "https://www.facebook.com/profile.php", NOT_A_PROFILE),
        ("facebook", "https://www.facebook.com/profile.php?id=", NOT_A_PROFILE),
        ("facebook", "https://www.facebook.com/profile.php?id=anna", NOT_A_PROFILE),
        ("facebook", "https://www.facebook.com/profile.php?id=1&id=2", NOT_A_PROFILE),
        ("facebook", "https://www.facebook.com/profile.php?id=" + "1" * 21, NOT_A_PROFILE),
        ("facebook", "https://www.facebook.com/profile.php/100012345678901", NOT_A_PROFILE),
        ("facebook", "facebook.com/people/Some-Name", NOT_A_PROFILE),
        ("facebook", "facebook.com/people/Some-Name/anna", NOT_A_PROFILE),
        ("facebook", "https://www.facebook.com/pages.php?id=100012345678901", NOT_A_PROFILE),
        ("facebook", "facebook.com/groups/cats", NOT_A_PROFILE),
        ("facebook", "facebook.com/watch/?v=1", NOT_A_PROFILE),
        ("facebook", "facebook.com/permalink.php?story_fbid=1", NOT_A_PROFILE),
        ("facebook", "https://fb.watch/abc123/", NOT_A_PROFILE),
        ("twitch", "https://www.twitch.tv/directory", NOT_A_PROFILE),
        ("twitch", "https://www.twitch.tv/videos/123456", NOT_A_PROFILE),
        ("twitch", "https://clips.twitch.tv/SomeClipSlug", NOT_A_PROFILE),
        # YouTube channel IDs and legacy channel links are not handles.
        (
            "youtube",
            "https://www.youtube.com/channel/UCuAXFkgsw1L7xaCfnd5JJOw",
            YOUTUBE_CHANNEL_ID,
        ),
        ("youtube", "youtube.com/c/SomeChannel", YOUTUBE_CHANNEL_ID),
        ("youtube", "youtube.com/user/SomeChannel", YOUTUBE_CHANNEL_ID),
        ("youtube", "UCuAXFkgsw1L7xaCfnd5JJOw", YOUTUBE_CHANNEL_ID),
        ("youtube", "@UCuAXFkgsw1L7xaCfnd5JJOw", YOUTUBE_CHANNEL_ID),
    ],
)
def test_parse_handle_rejects_with_the_right_reason(network: str, raw: str, message: str) -> None:
    with pytest.raises(Invalid) as exc:
        parse_handle(network, raw)
    assert exc.value.message == message
    assert exc.value.message.format(**exc.value.params)


@pytest.mark.parametrize(
    ("network", "raw", "min_length", "max_length"),
    [
        ("instagram", "a" * 31, 1, 30),
        ("tiktok", "a", 2, 24),
        ("tiktok", "a" * 25, 2, 24),
        ("youtube", "ab", 3, 30),
        ("youtube", "@ab", 3, 30),
        ("youtube", "a" * 31, 3, 30),
        ("x", "a" * 16, 1, 15),
        ("x", "https://x.com/" + "a" * 16, 1, 15),
        ("facebook", "abcd", 5, 50),
        ("facebook", "a" * 51, 5, 50),
        ("twitch", "abc", 4, 25),
        ("twitch", "a" * 26, 4, 25),
    ],
)
def test_parse_handle_rejects_wrong_length(
    network: str, raw: str, min_length: int, max_length: int
) -> None:
    with pytest.raises(Invalid) as exc:
        parse_handle(network, raw)
    assert exc.value.message == HANDLE_LENGTH
    assert exc.value.params == {
        "network": NETWORK_LABELS[network],
        "min": min_length,
        "max": max_length,
    }


@pytest.mark.parametrize(
    ("network", "raw"),
    [
        ("instagram", "https://www.tiktok.com/@some_user"),
        ("instagram", "facebook.com/some.page"),
        ("instagram", "https://instagram.com.evil.example/some.user"),
        ("instagram", "https://notinstagram.com/some.user"),
        ("instagram", "https://linktr.ee/some.user"),
        ("instagram", "ftp://instagram.com/some.user"),
        ("tiktok", "https://www.instagram.com/some.user"),
        ("youtube", "https://twitter.com/jack"),
        ("youtube", "tiktok.com"),
        ("x", "https://www.twitch.tv/streamer"),
        ("x", "http://[::1"),
        ("facebook", "https://x.com/jack"),
        ("twitch", "https://youtube.com/@streamer"),
        ("twitch", "some/thing"),
    ],
)
def test_parse_handle_rejects_other_networks_links(network: str, raw: str) -> None:
    with pytest.raises(Invalid) as exc:
        parse_handle(network, raw)
    assert exc.value.message == WRONG_NETWORK
    assert exc.value.params == {"network": NETWORK_LABELS[network]}


@pytest.mark.parametrize("network", NETWORKS)
@pytest.mark.parametrize("raw", ["", "   ", "@", " @ "])
def test_parse_handle_rejects_empty(network: str, raw: str) -> None:
    with pytest.raises(Invalid) as exc:
        parse_handle(network, raw)
    assert exc.value.message == HANDLE_EMPTY
    assert exc.value.params == {"network": NETWORK_LABELS[network]}


@pytest.mark.parametrize("network", NETWORKS)
def test_parse_handle_rejects_huge_input_before_parsing(network: str) -> None:
    with pytest.raises(Invalid) as exc:
        parse_handle(network, "https://instagram.com/" + "a" * 200)
    assert exc.value.message == TOO_LONG
    assert exc.value.params == {"max": 200}


def test_parse_handle_measures_length_after_trimming() -> None:
    assert parse_handle("x", " " * 150 + "jack" + " " * 150) == "jack"


# Post links -----------------------------------------------------------------------------------

ANNAS = [
    ("instagram", "anna.makes"),
    ("tiktok", "anna_tt"),
    ("youtube", "annamakes"),
    ("x", "anna_x"),
    ("facebook", "anna.nowak"),
    ("twitch", "annalive"),
]


@pytest.mark.parametrize(
    ("link", "network", "handle"),
    [
        ("https://www.instagram.com/anna.makes/p/Cboots1/", "instagram", "anna.makes"),
        ("https://instagram.com/Anna.Makes/reel/xyz", "instagram", "anna.makes"),
        ("https://www.instagram.com/stories/anna.makes/3141592/", "instagram", "anna.makes"),
        ("https://www.tiktok.com/@Anna_TT/video/7312345", "tiktok", "anna_tt"),
        ("https://www.youtube.com/@annamakes/community?lb=Ugkx", "youtube", "annamakes"),
        ("https://x.com/anna_x/status/1790000000000000000", "x", "anna_x"),
        ("https://twitter.com/Anna_X/status/17", "x", "anna_x"),
        ("https://www.facebook.com/anna.nowak/posts/pfbid02", "facebook", "anna.nowak"),
        ("https://www.twitch.tv/annalive/clip/FunnyClip-abc", "twitch", "annalive"),
    ],
)
def test_a_post_link_naming_the_persons_account_is_matched_to_it(
    link: str, network: str, handle: str
) -> None:
    assert parse_post_link(link, ANNAS) == PostLink(link, network, handle)


@pytest.mark.parametrize(
    ("link", "network"),
    [
        ("https://www.instagram.com/p/Cboots1/", "instagram"),
        ("https://instagram.com/reel/xyz", "instagram"),
        ("https://www.youtube.com/watch?v=dQw4w9WgXcQ", "youtube"),
        ("https://youtu.be/dQw4w9WgXcQ", "youtube"),
        ("https://www.youtube.com/shorts/abc123", "youtube"),
        ("https://www.youtube.com/channel/UCuAXFkgsw1L7xaCfnd5JJOw/community", "youtube"),
        ("https://vm.tiktok.com/ZMabc123/", "tiktok"),
        ("https://x.com/i/status/1790000000000000000", "x"),
        ("https://www.facebook.com/reel/123456789", "facebook"),
        ("https://fb.watch/abcDEF/", "facebook"),
        ("https://www.facebook.com/permalink.php?story_fbid=1&id=100012345678901", "facebook"),
        ("https://www.twitch.tv/videos/123456789", "twitch"),
        ("https://clips.twitch.tv/FunnyClip-abc", "twitch"),
    ],
)
def test_a_post_link_naming_no_account_is_taken_unmatched(link: str, network: str) -> None:
    assert parse_post_link(link, ANNAS) == PostLink(link, network, None)


@pytest.mark.parametrize(
    ("link", "account", "network", "yours"),
    [
        (
            "https://www.instagram.com/someoneelse/p/abc",
            "@someoneelse",
            "Instagram",
            "@anna.makes",
        ),
        (
            "https://www.instagram.com/stories/someoneelse/1/",
            "@someoneelse",
            "Instagram",
            "@anna.makes",
        ),
        ("https://www.tiktok.com/@other/video/1", "@other", "TikTok", "@anna_tt"),
        ("https://youtube.com/@other/community", "@other", "YouTube", "@annamakes"),
        ("https://x.com/elonmusk/status/1", "@elonmusk", "X", "@anna_x"),
        ("https://m.facebook.com/other.page/videos/1", "@other.page", "Facebook", "@anna.nowak"),
        ("https://www.twitch.tv/shroud/clip/Clip-1", "@shroud", "Twitch", "@annalive"),
    ],
)
def test_a_post_link_naming_someone_elses_account_is_refused(
    link: str, account: str, network: str, yours: str
) -> None:
    with pytest.raises(Invalid) as exc:
        parse_post_link(link, ANNAS)
    assert exc.value.message == NOT_YOUR_ACCOUNT
    assert exc.value.params == {"account": account, "network": network, "yours": yours}


def test_a_facebook_id_is_compared_only_with_an_id() -> None:
    link = "https://www.facebook.com/permalink.php?story_fbid=1&id=100012345678901"
    assert parse_post_link(link, [("facebook", "100012345678901")]).handle == "100012345678901"
    with pytest.raises(Invalid) as exc:
        parse_post_link(link, [("facebook", "100099999999999")])
    assert exc.value.message == NOT_YOUR_ACCOUNT


@pytest.mark.parametrize("text", ["hello", "thanks!", "https://hello", "www", ""])
def test_text_that_is_no_address_is_not_a_link(text: str) -> None:
    with pytest.raises(Invalid) as exc:
        parse_post_link(text, ANNAS)
    assert exc.value.message == NOT_A_LINK


def test_a_link_elsewhere_is_not_on_the_persons_networks() -> None:
    with pytest.raises(Invalid) as exc:
        parse_post_link("https://example.com/my-post", [("instagram", "anna.makes")])
    assert exc.value.message == NOT_YOUR_NETWORKS
    assert exc.value.params == {"networks": "Instagram"}


def test_a_home_page_is_not_a_post() -> None:
    with pytest.raises(Invalid) as exc:
        parse_post_link("instagram.com", ANNAS)
    assert exc.value.message == NOT_A_POST
