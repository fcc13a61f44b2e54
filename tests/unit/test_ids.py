from fedcoop import ids


def test_ids_sort_by_time_and_are_unique() -> None:
    made = [ids.new_id() for _ in range(2000)]
    assert made == sorted(made)
    assert len(set(made)) == len(made)
    assert all(ids.is_valid(i) for i in made)


def test_timestamp_round_trip() -> None:
    value = ids._Generator().new(now_ms=1_700_000_000_123)
    assert ids.timestamp_ms(value) == 1_700_000_000_123
    assert ids.lowest_id_at(1_700_000_000_123) <= value
    assert ids.lowest_id_at(1_700_000_000_124) > value


def test_clock_going_back_keeps_order() -> None:
    generator = ids._Generator()
    later = generator.new(now_ms=2_000_000_000_000)
    earlier_clock = generator.new(now_ms=1_000_000_000_000)
    assert earlier_clock > later


def test_invalid_ids() -> None:
    assert not ids.is_valid("short")
    assert not ids.is_valid("U" * 26)  # U is not in Crockford's alphabet
    assert not ids.is_valid("8" + "0" * 25)  # overflows 128 bits
