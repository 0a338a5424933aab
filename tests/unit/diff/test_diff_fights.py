"""The drift fight book: heals counted per field and manager, a fight after the threshold, backoff."""

from __future__ import annotations

from gitward.diff.fights import FightBook, FightSettings

OBJ = "shop_web_apps_Deployment"
FIELD = "/spec/replicas"


def _book(**settings: float) -> FightBook:
    return FightBook(FightSettings(**settings))  # type: ignore[arg-type]


def _heal(book: FightBook, at: float, manager: str = "autoscaler") -> None:
    assert book.observe(OBJ, FIELD, manager, now=at) is None
    book.healed(OBJ, FIELD, manager, now=at)


def test_the_change_after_three_heals_in_the_window_is_a_fight() -> None:
    book = _book(heals=3, window=600, pause=300)
    for t in (0, 10, 20):
        _heal(book, t)
    fight = book.observe(OBJ, FIELD, "autoscaler", now=30)
    assert fight is not None
    assert (fight.manager, fight.heals, fight.strikes, fight.paused_until) == ("autoscaler", 3, 1, 330)
    assert book.paused(OBJ, now=31) == [FIELD]
    assert book.observe(OBJ, FIELD, "autoscaler", now=40) is None  # paused: told once
    assert [f.field for f in book.active(now=40)] == [FIELD]
    assert book.next_resume(now=40) == 330


def test_heals_older_than_the_window_do_not_count() -> None:
    book = _book(heals=3, window=600)
    for t in (0, 10, 700):
        _heal(book, t)
    assert book.observe(OBJ, FIELD, "autoscaler", now=710) is None


def test_another_manager_starts_from_zero_and_unknown_writers_never_fight() -> None:
    book = _book(heals=2, window=600)
    _heal(book, 0)
    _heal(book, 10)
    assert book.observe(OBJ, FIELD, "person", now=20) is None  # not the autoscaler's third change
    book.healed(OBJ, FIELD, "", now=21)
    assert book.observe(OBJ, FIELD, "", now=22) is None


def test_after_the_pause_one_heal_and_an_undo_renews_the_fight_with_the_pause_doubled() -> None:
    book = _book(heals=3, window=600, pause=300, max_pause=1000)
    for t in (0, 10, 20):
        _heal(book, t)
    assert book.observe(OBJ, FIELD, "autoscaler", now=30) is not None
    assert book.paused(OBJ, now=330) == []  # the pause is over: heal once more
    _heal(book, 330)
    renewed = book.observe(OBJ, FIELD, "autoscaler", now=340)
    assert renewed is not None
    assert (renewed.strikes, renewed.paused_until, renewed.since) == (2, 940, 30)
    _heal(book, 940)
    third = book.observe(OBJ, FIELD, "autoscaler", now=950)
    assert third is not None
    assert third.paused_until == 950 + 1000  # capped at max_pause


def test_a_field_left_alone_for_a_window_after_its_last_heal_is_forgotten() -> None:
    book = _book(heals=1, window=100, pause=50)
    _heal(book, 0)
    assert book.observe(OBJ, FIELD, "autoscaler", now=5) is not None
    _heal(book, 60)  # the retry after the pause
    assert book.active(now=200) == []
    _heal(book, 200)  # a new story: the first threshold again, not an undone retry
    fresh = book.observe(OBJ, FIELD, "autoscaler", now=210)
    assert fresh is not None
    assert (fresh.strikes, fresh.paused_until) == (1, 260)


def test_a_persons_sync_and_a_zero_threshold_stop_counting() -> None:
    book = _book(heals=1)
    _heal(book, 0)
    book.forget([OBJ])
    _heal(book, 1)
    off = _book(heals=0)
    for t in range(10):
        _heal(off, t)


def test_the_book_survives_a_restart_through_the_status_rows() -> None:
    book = _book(heals=1, pause=300)
    _heal(book, 0)
    fight = book.observe(OBJ, FIELD, "autoscaler", now=10)
    assert fight is not None
    row = fight.to_dict()
    assert row["suggestion"]["ignoreDifferences"] == [
        {"group": "apps", "kind": "Deployment", "name": "web", "namespace": "shop", "jsonPointers": [FIELD]}
    ]
    assert row["suggestion"]["orByManager"]["managedFieldsManagers"] == ["autoscaler"]
    again = _book(heals=1, pause=300)
    again.restore([row, {"object": "broken"}])
    assert again.paused(OBJ, now=20) == [FIELD]
    assert again.next_resume(now=20) == 310
