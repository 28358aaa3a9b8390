"""`generate` without --mx reads the domain's real MX records (step 1 starts from DNS)."""

from __future__ import annotations

import json

from tests.cli_runner import run_cli
from wizard.policy import parse_policy


def test_generate_without_mx_builds_the_policy_from_the_mx_records(world) -> None:
    name = world.fresh("gen")
    world.domain(name, mx=[f"mx1.{name}", f"mx2.{name}"])
    out = run_cli("generate", name, "--json", *world.cli_args())
    assert out.returncode == 0, out.stderr
    doc = json.loads(out.stdout)
    parsed = parse_policy(doc["policy"]["text"])
    assert parsed.policy is not None
    assert parsed.policy.mx == (f"mx1.{name}", f"mx2.{name}")
    assert f"MX hosts of {name} from DNS" in out.stderr


def test_generate_for_a_domain_without_mx_says_to_give_them(world) -> None:
    name = world.fresh("nomx")
    world.domain(name, mx=[])
    out = run_cli("generate", name, *world.cli_args())
    assert out.returncode == 2
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and "--mx HOST" in lines[0] and "Traceback" not in out.stderr


def test_generate_with_no_resolver_answering_exits_3_in_one_line(world) -> None:
    silent = world.silent_dns()
    out = run_cli("generate", "example.test", "--nameserver", silent.address, "--timeout", "1")
    assert out.returncode == 3
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and "--mx HOST" in lines[0], out.stderr
