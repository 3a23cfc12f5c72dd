"""Countries from affiliation strings and e-mail domains."""

from __future__ import annotations

import pytest

from ptmscope.papers.countries import countries_of, country_of_affiliation, country_of_domain


@pytest.mark.parametrize(("affiliation", "countries"), [
    ("Department of Computer Science, Stanford University, Stanford, CA, USA", ("US",)),
    ("Tsinghua University", ("CN",)),  # an institution that usually goes without its country
    ("MIT", ("US",)),
    ("University of New Mexico", ("US",)),  # not Mexico
    ("Papua New Guinea University of Technology", ("PG",)),  # not Guinea
    ("Indiana University Bloomington", ("US",)),  # not India
    ("Western University, London, Ontario, Canada", ("CA",)),  # the country beats the city
    ("NYU Abu Dhabi", ("AE",)),  # a place beats an institution
    ("KAIST, Daejeon, Republic of Korea", ("KR",)),
    ("Universität Zürich", ("CH",)),
    ("Xi’an Jiaotong University", ("CN",)),
    ("Google Research", ()),  # a company of many countries names none
    ("us and them, a us-based lab", ()),  # short codes only count in capitals
    ("ETH Zurich; Peking University, Beijing, China", ("CH", "CN")),
    ("", ()),
])
def test_affiliations(affiliation: str, countries: tuple[str, ...]) -> None:
    assert country_of_affiliation(affiliation) == countries


@pytest.mark.parametrize(("address", "country"), [
    ("li@mails.tsinghua.edu.cn", "CN"),
    ("a@cs.stanford.edu", "US"),
    ("b@ox.ac.uk", "GB"),
    ("ethz.ch", "CH"),
    ("c@google.com", None),
    ("d@startup.ai", None),  # a country code sold as a generic name
    ("e@lab.io", None),
    ("not-an-address", None),
])
def test_email_domains(address: str, country: str | None) -> None:
    assert country_of_domain(address) == country


def test_affiliations_first_then_what_only_emails_show() -> None:
    assert countries_of(["Inria Paris", "MIT"], ["x@kaist.ac.kr", "y@inria.fr"]) == ("FR", "US", "KR")
    assert countries_of() == ()
