"""The one allow-list grammar, for MEDIA_ANALYSIS_ALLOW_PRIVATE_URLS and _CALLBACK_ALLOW alike."""

from __future__ import annotations

import ipaddress

import pytest

from media_analysis_dagster.net.addresses import AllowList

VARIABLES = ["MEDIA_ANALYSIS_ALLOW_PRIVATE_URLS", "MEDIA_ANALYSIS_CALLBACK_ALLOW"]
ip = ipaddress.ip_address


@pytest.mark.parametrize("variable", VARIABLES)
@pytest.mark.parametrize("spec", [None, "", "  ", "false", "off", "no", "0", "FALSE"])
def test_off_words_mean_public_only(variable: str, spec: str | None) -> None:
    rules = AllowList.parse(spec, variable)
    assert rules == AllowList()
    assert rules.permits("example.com", ip("93.184.216.34"))
    assert not rules.permits("localhost", ip("127.0.0.1"))
    assert not rules.permits("meta", ip("169.254.169.254"))


@pytest.mark.parametrize("variable", VARIABLES)
@pytest.mark.parametrize("spec", ["true", "on", "yes", "1", "all", " True "])
def test_on_words_mean_any_address(variable: str, spec: str) -> None:
    rules = AllowList.parse(spec, variable)
    assert rules.any_address
    for address in ("127.0.0.1", "10.1.2.3", "::1", "169.254.169.254", "fd00::1"):
        assert rules.permits("anything", ip(address))


@pytest.mark.parametrize("variable", VARIABLES)
def test_networks_addresses_and_host_names(variable: str) -> None:
    rules = AllowList.parse(" 10.0.0.0/8 , N8N.Internal., 127.0.0.1,fd00::/8 ,", variable)
    assert [str(n) for n in rules.networks] == ["10.0.0.0/8", "127.0.0.1/32", "fd00::/8"]
    assert rules.hosts == frozenset({"n8n.internal"}) and not rules.any_address
    assert rules.permits("x", ip("10.200.0.1")) and rules.permits("x", ip("127.0.0.1"))
    assert not rules.permits("x", ip("127.0.0.2")) and not rules.permits("x", ip("192.168.1.1"))
    assert rules.permits("x", ip("fd12::1")) and not rules.permits("x", ip("fe80::1"))
    # a host name vouches for whatever it resolves to, in any spelling of the name
    assert rules.permits("n8n.internal", ip("192.168.7.7"))
    assert rules.permits("N8N.INTERNAL.", ip("::1"))
    assert not rules.permits("other.internal", ip("192.168.7.7"))
    # host bits set are accepted, as the callback parser did
    assert [str(n) for n in AllowList.parse("10.1.2.3/8", variable).networks] == ["10.0.0.0/8"]


def test_ipv6_and_ipv4_mapped_addresses() -> None:
    rules = AllowList.parse("::1,10.0.0.0/8", "MEDIA_ANALYSIS_CALLBACK_ALLOW")
    assert rules.permits("x", ip("::1")) and not rules.permits("x", ip("::2"))
    # ::ffff:10.1.2.3 is 10.1.2.3 on the wire: the IPv4 network covers it
    assert rules.permits("x", ip("::ffff:10.1.2.3"))
    assert not rules.permits("x", ip("::ffff:127.0.0.1"))
    # and a mapped private address is not public (nothing listed: refused)
    assert not AllowList().permits("x", ip("::ffff:10.1.2.3"))
    assert AllowList().permits("x", ip("::ffff:93.184.216.34"))
    assert not AllowList().permits("x", ip("2002:7f00:1::1"))  # 6to4 wrapping 127.0.0.1


@pytest.mark.parametrize("variable", VARIABLES)
@pytest.mark.parametrize(
    "bad", ["10.0.0.0/33", "bad host!", "http://n8n", "n8n.internal/8", "10", "1.2.3", "-x.y"]
)
def test_a_bad_entry_is_one_sentence_naming_the_variable_and_entry(variable: str, bad: str) -> None:
    with pytest.raises(ValueError) as caught:
        AllowList.parse(f"10.0.0.0/8,{bad}", variable)
    message = str(caught.value)
    assert message.startswith(variable) and repr(bad) in message
    assert message.endswith(".") and "\n" not in message


def test_on_off_words_stand_alone() -> None:
    with pytest.raises(ValueError, match="stand alone"):
        AllowList.parse("true,10.0.0.0/8", "MEDIA_ANALYSIS_ALLOW_PRIVATE_URLS")
