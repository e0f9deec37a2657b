"""Region settings, the served list and ECR's registry host names, without a server."""

from __future__ import annotations

import botocore.session
import pytest

from dockyard.config import ConfigError, load_settings, region_list
from dockyard.domain.records import Scope
from dockyard.domain.regions import registry_host, scope_of_host, valid_region
from dockyard.services.regions import known_regions, served_regions

ACCOUNT = "123456789012"


def test_every_region_botocore_knows_is_served_by_default() -> None:
    session = botocore.session.get_session()
    expected = {
        region
        for partition in session.get_available_partitions()
        for region in session.get_available_regions("ecr", partition_name=partition)
    }
    assert known_regions() == expected
    assert {"us-east-1", "eu-central-1", "cn-north-1", "us-gov-west-1"} <= expected
    assert served_regions((), "us-east-1") == expected
    assert all(valid_region(region) for region in expected)


def test_the_default_region_is_always_served() -> None:
    assert served_regions((), "xx-future-9") == known_regions() | {"xx-future-9"}
    assert served_regions(("eu-west-1",), "eu-west-1") == {"eu-west-1"}


def test_regions_setting() -> None:
    assert region_list(load_settings(environ={})) == ()
    both = load_settings({"regions": " eu-west-1, us-east-1 ,eu-west-1"}, environ={})
    assert region_list(both) == ("eu-west-1", "us-east-1")
    # Restricted without a default region named: the first one is the default.
    assert both.region == "eu-west-1"
    chosen = load_settings({"regions": "eu-west-1,us-east-1", "region": "us-east-1"}, environ={})
    assert chosen.region == "us-east-1"
    with pytest.raises(ConfigError, match="must be one of regions"):
        load_settings({"regions": "eu-west-1", "region": "us-east-1"}, environ={})
    with pytest.raises(ConfigError, match="does not look like a region"):
        load_settings({"regions": "eu-west-1,Frankfurt"}, environ={})
    env = {"DOCKYARD_REGIONS": "ap-south-1", "DOCKYARD_REGISTRY_DOMAIN": "ecr.example.com"}
    from_env = load_settings(environ=env)
    assert (from_env.region, from_env.registry_domain) == ("ap-south-1", "ecr.example.com")


@pytest.mark.parametrize("domain", ["https://ecr.example.com", "ecr.example.com/", "-x.example"])
def test_registry_domain_must_be_a_host(domain: str) -> None:
    with pytest.raises(ConfigError, match="registry_domain"):
        load_settings({"registry_domain": domain}, environ={})


@pytest.mark.parametrize(
    ("host", "domain", "expected"),
    [
        (f"{ACCOUNT}.dkr.ecr.eu-central-1.ecr.example.com", "ecr.example.com", "eu-central-1"),
        (f"{ACCOUNT}.dkr.ecr.eu-central-1.ecr.example.com:443", "ecr.example.com", "eu-central-1"),
        (f"{ACCOUNT}.DKR.ECR.US-WEST-2.Ecr.Example.Com.", "ecr.example.com", "us-west-2"),
        (f"{ACCOUNT}.dkr.ecr.us-west-2.localhost:5000", "localhost:5000", "us-west-2"),
        (f"{ACCOUNT}.dkr.ecr.us-west-2.localhost:5001", "localhost:5000", None),
        (f"{ACCOUNT}.dkr.ecr.us-west-2.other.example.com", "ecr.example.com", None),
        (f"{ACCOUNT}.dkr.ecr.us-west-2.sub.ecr.example.com", "ecr.example.com", None),
        ("12345.dkr.ecr.us-west-2.ecr.example.com", "ecr.example.com", None),
        ("ecr.example.com", "ecr.example.com", None),
        ("127.0.0.1:5000", "ecr.example.com", None),
        (f"{ACCOUNT}.dkr.ecr.us-west-2.ecr.example.com", "", None),
    ],
)
def test_host_names(host: str, domain: str, expected: str | None) -> None:
    found = scope_of_host(host, domain)
    assert found == (Scope(ACCOUNT, expected) if expected else None)


def test_a_registry_host_reads_back() -> None:
    scope = Scope(ACCOUNT, "ap-southeast-2")
    assert registry_host(scope, "ecr.example.com") == (
        f"{ACCOUNT}.dkr.ecr.ap-southeast-2.ecr.example.com"
    )
    assert scope_of_host(registry_host(scope, "ecr.example.com"), "ecr.example.com") == scope
