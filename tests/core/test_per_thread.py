"""`per_thread`: what queries reuse (ORM aliases) is made once per thread, never shared between threads
(SQLAlchemy completes an alias lazily on first use, which raced when threads shared one)."""
from __future__ import annotations

import threading

from sqlalchemy.orm import aliased

from core.db import per_thread
from core.models import Account


def test_each_thread_makes_its_own_once_and_keeps_it():
    made = []
    pilot = per_thread(lambda: made.append(1) or aliased(Account))
    here = pilot()
    assert pilot() is here and len(made) == 1

    elsewhere = []
    threads = [threading.Thread(target=lambda: elsewhere.append((pilot(), pilot()))) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert all(first is second for first, second in elsewhere)  # once per thread
    assert len({id(first) for first, _ in elsewhere} | {id(here)}) == 4 and len(made) == 4  # none shared
