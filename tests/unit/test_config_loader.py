import dataclasses

import pytest

from agentrl.config import apply_override, load_config
from agentrl.errors import ConfigError, UnknownKeyError


@dataclasses.dataclass(frozen=True)
class Inner:
    lr: float = 1e-3
    steps: int = 10
    name: str | None = None


@dataclasses.dataclass(frozen=True)
class Outer:
    inner: Inner = Inner()
    tags: tuple[str, ...] = ()
    flag: bool = False


def test_file_then_overrides(tmp_path):
    f = tmp_path / "c.yaml"
    f.write_text("inner:\n  lr: 0.5\ntags: [a, b]\n")
    cfg = load_config(Outer, f, ["inner.steps=3", "flag=true", "inner.name=x"])
    assert cfg == Outer(Inner(0.5, 3, "x"), ("a", "b"), True)


def test_toml(tmp_path):
    f = tmp_path / "c.toml"
    f.write_text("[inner]\nlr = 2\n")
    assert load_config(Outer, f).inner.lr == 2.0


def test_unknown_key_lists_valid_ones():
    with pytest.raises(UnknownKeyError) as e:
        load_config(Outer, None, ["inner.lrr=1"])
    msg = str(e.value)
    assert "'lrr'" in msg and "Did you mean 'lr'" in msg and "lr, name, steps" in msg


@pytest.mark.parametrize("override, fragment", [("inner.steps=1.5", "expected an integer"),
                                                ("flag=maybe", "expected true or false"),
                                                ("inner.lr=fast", "expected a number")])
def test_type_errors_name_the_key(override, fragment):
    with pytest.raises(ConfigError, match=fragment):
        load_config(Outer, None, [override])


def test_malformed_override_and_missing_file(tmp_path):
    with pytest.raises(ConfigError, match="key.path=value"):
        apply_override({}, "nonsense")
    with pytest.raises(ConfigError, match="does not exist"):
        load_config(Outer, tmp_path / "nope.yaml")
