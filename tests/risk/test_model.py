"""The risk model file: validation names the file and setting; weights change per run."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from chainlight.risk.model import RiskModel, RiskModelError


def shipped() -> dict[str, object]:
    data = RiskModel.load().settings.model_dump(mode="json")
    assert isinstance(data, dict)
    return data


def test_the_shipped_model_loads_and_lists_every_weight() -> None:
    model = RiskModel.load()
    weights = model.weights()
    assert weights["likelihood.incidents"] == 0.3
    assert weights["controls.container-scanners"] == 1.5
    assert weights["controls.cctv"] == 1.0  # catalogue controls default to 1
    assert model.k_anonymity == 5
    assert [model.level(v) for v in (0.0, 0.2, 0.21, 0.5, 0.79, 0.81, 1.0)] == [1, 1, 2, 3, 4, 5, 5]


def test_a_users_copy_in_the_home_replaces_the_shipped_model(tmp_path: Path) -> None:
    data = shipped()
    data["mitigation"] = 0.25
    (tmp_path / "risk").mkdir()
    (tmp_path / "risk" / "model.yaml").write_text(yaml.safe_dump(data), encoding="utf-8")
    model = RiskModel.load(home=tmp_path)
    assert model.settings.mitigation == 0.25
    assert model.source.endswith("model.yaml") and "shipped" not in model.source


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda d: d["likelihood"].update({"gossip": d["likelihood"]["incidents"]}), "likelihood.gossip: unknown"),
        (lambda d: d["likelihood"]["incidents"].update({"weight": -1}), "likelihood.incidents.weight"),
        (lambda d: d["likelihood"]["incidents"]["normalise"].update({"cap": None}), "log-cap needs a cap"),
        (lambda d: d.update({"classes": [0.5, 0.4, 0.6, 0.8]}), "four increasing bounds"),
        (lambda d: d["controls"]["weights"].update({"prayer": 2}), "controls.weights.prayer"),
        (lambda d: d.update({"mitigation": 1.5}), "mitigation"),
    ],
)
def test_a_bad_model_is_refused_naming_the_file_and_setting(tmp_path: Path, change: object, message: str) -> None:
    data = shipped()
    change(data)  # type: ignore[operator]
    path = tmp_path / "model.yaml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    with pytest.raises(RiskModelError) as caught:
        RiskModel.load(path)
    assert str(path) in str(caught.value) and message in str(caught.value)


def test_a_file_that_is_not_yaml_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "model.yaml"
    path.write_text("likelihood: [unclosed", encoding="utf-8")
    with pytest.raises(RiskModelError, match="not valid YAML"):
        RiskModel.load(path)


def test_with_weights_changes_one_run_and_refuses_unknown_keys() -> None:
    model = RiskModel.load()
    changed = model.with_weights({"likelihood.incidents": 0.9, "controls.cctv": 3, "mitigation": 0.4})
    assert changed.weights()["likelihood.incidents"] == 0.9
    assert changed.control_weight("cctv") == 3
    assert changed.settings.mitigation == 0.4
    assert model.weights()["likelihood.incidents"] == 0.3  # the original is untouched
    assert "likelihood.incidents=0.9" in changed.source
    with pytest.raises(RiskModelError, match=r"unknown weight 'likelihood\.luck'"):
        model.with_weights({"likelihood.luck": 1})
    with pytest.raises(RiskModelError, match="at least one factor"):
        model.with_weights({f"impact.{k}": 0 for k in model.settings.impact})
