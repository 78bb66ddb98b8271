from datetime import date

from service.thai import dates as thaidate
from service.thai import legaldays


def test_the_first_day_is_not_counted():
    assert legaldays.last_day("2020-10-01", 15) == date(2020, 10, 16)  # DOMAIN.md's example


def test_a_minimum_period_is_not_moved_off_a_weekend():
    assert legaldays.last_day("2020-10-20", 30, extend_to_working_day=False) == date(2020, 11, 19)
    assert legaldays.last_day("2020-10-02", 30, extend_to_working_day=False) == date(2020, 11, 1)  # a Sunday


def test_a_deadline_on_a_weekend_or_holiday_moves_to_the_next_working_day():
    assert legaldays.last_day("2020-10-02", 15) == date(2020, 10, 19)  # Sat 17 -> Mon 19
    holidays = {date(2020, 10, 23)}  # วันปิยมหาราช, a Friday
    assert legaldays.last_day("2020-10-08", 15, holidays) == date(2020, 10, 26)  # Fri holiday, Sat, Sun -> Mon


def test_a_period_ends_at_the_last_instant_of_its_day_in_bangkok():
    end = legaldays.end_of_day(date(2020, 10, 16))
    assert end.isoformat() == "2020-10-16T16:59:59.999999+00:00"
    assert legaldays.day_of(end) == date(2020, 10, 16)


def test_timer_helpers_return_iso_strings():
    helpers = legaldays.timer_helpers({date(2020, 10, 19)})
    assert helpers["legal_deadline"]("2020-10-02", 15) == "2020-10-20T16:59:59.999999+00:00"
    assert helpers["legal_minimum"]("2020-10-02", 15) == "2020-10-17T16:59:59.999999+00:00"


def test_thai_dates():
    assert thaidate.short(date(2020, 10, 16)) == "16 ต.ค. 2563"
    assert thaidate.long("2018-09-25", thai_digits=True) == "๒๕ กันยายน พ.ศ. ๒๕๖๑"
