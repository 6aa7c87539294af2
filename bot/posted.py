"""What a card or thread reply carries so a retry can find it (message metadata), and the finding.

chat.postMessage takes no idempotency key: when an earlier attempt may have posted a message (its answer
lost, or its worker gone), the runner says since when, and the message is looked for by its metadata in the
channel's recent history (a card) or the card's thread (a reply) before it is posted again."""
from __future__ import annotations

import logging
import threading
import weakref
from datetime import UTC, datetime

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

log = logging.getLogger("releasebot.posted")

CARD_EVENT, NOTICE_EVENT = "releasebot_card", "releasebot_notice"
# At most this many messages a page: what conversations.history and .replies give a non-Marketplace app since 2025;
# and at most this many pages (150 messages since the message was owed: a busy channel or thread, never all of it).
LOOK_LIMIT = 15
LOOK_PAGES = 10
CLOCK_SKEW_SECONDS = 60  # our clock and Slack's (the rows' times are ours, a message's ts is Slack's)
# Slack will not let us read there, or not now: post as before. missing_scope: installed before releasebot asked for
# the history scopes; not_in_channel / channel_not_found: posting says what to do about it (join, or ask to be invited);
# thread_not_found: the card was deleted; ratelimited (what is left after the client's own retry): a message posted
# twice is better than one failed until abandoned.
UNREADABLE = ("missing_scope", "not_in_channel", "channel_not_found", "thread_not_found", "ratelimited")
_told: weakref.WeakSet[WebClient] = weakref.WeakSet()  # the clients (one per workspace token) that said missing_scope
_told_lock = threading.Lock()


def card_metadata(release_id: str) -> dict:
    """The card's metadata: which release it shows."""
    return {"event_type": CARD_EVENT, "event_payload": {"release_id": release_id}}


def notice_metadata(notification_id: str) -> dict:
    """A thread reply's metadata: which owed notification it delivers."""
    return {"event_type": NOTICE_EVENT, "event_payload": {"notification_id": notification_id}}


def find_posted(client: WebClient, *, channel: str, metadata: dict, since: datetime, thread_ts: str | None = None) -> str | None:
    """The ts of the message carrying `metadata` posted since `since` (in the thread of `thread_ts`, else the
    channel), or None: not there, or not readable. Other Slack errors are raised (the attempt is retried)."""
    oldest = f"{since.replace(tzinfo=UTC).timestamp() - CLOCK_SKEW_SECONDS:.6f}"
    look = dict(channel=channel, oldest=oldest, limit=LOOK_LIMIT, include_all_metadata=True)
    try:
        cursor = None
        for _ in range(LOOK_PAGES):  # the messages before it fill the first pages of a busy thread
            page = {**look, "cursor": cursor} if cursor else look
            answer = client.conversations_replies(ts=thread_ts, **page) if thread_ts else client.conversations_history(**page)
            found = next((m["ts"] for m in answer.get("messages") or [] if m.get("metadata") == metadata), None)
            cursor = (answer.get("response_metadata") or {}).get("next_cursor")
            if found or not cursor:
                return found
    except SlackApiError as exc:
        error = exc.response.get("error")
        if error not in UNREADABLE:
            raise
        _say_once(client, error, channel)
    return None


def _say_once(client: WebClient, error: str, channel: str) -> None:
    if error == "missing_scope":  # the workspace's installation: said once per client, not at every retry
        with _told_lock:
            if client in _told:
                return
            _told.add(client)
        log.info("cannot look for a message a lost answer may have posted (Slack answered missing_scope): it is posted "
                 "again instead; reinstall releasebot so it gets the channels:history and groups:history scopes")
        return
    log.debug("cannot read %s to look for a message a lost answer may have posted (%s): posting it", channel, error)
