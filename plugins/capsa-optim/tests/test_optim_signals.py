"""Signal builders (through the core hook), unit scaling, signals.npz, third-party builders."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from capsa_optim import (
    IndexMap,
    LayoutMismatchError,
    OptimSignal,
    build_signals,
    load_signals,
    save_run,
)
from capsa_optim.signals.builders import BUILTIN_BUILDERS, ErrorSignals
from capsa_optim.signals.signals_npz import META_KEY, decode_signals, encode_signals
from capsa_optim.signals.units import conversion, error_unit, split_unit, with_tag
from optim_helpers import layout, make_meta

from capsa import hookimpl
from capsa.errors import (
    IncompatibleVersionError,
    IntegrityError,
    UnknownSignalBuilderError,
    ValidationError,
)
from capsa.estimators import Signal, SignalBuilder
from capsa.plugins import get_registry, register_plugin, unregister_plugin


def trace_and_meta(steps: int = 30) -> tuple[dict[str, np.ndarray], dict]:
    rng = np.random.default_rng(0)
    theta = rng.normal(size=(steps, 12))
    theta[:, 2] = 1.0 + 1e-4 * rng.normal(size=steps)  # plate scale ~ 1
    trace = {
        "loss": np.linspace(1, 0.1, steps),
        "theta": theta,
        "grad_norm": rng.random(steps),
        "step_norm": rng.random(steps),
    }
    return trace, make_meta(index_map=layout())


def test_builtin_builders_are_registered() -> None:
    registry = get_registry()
    for name in BUILTIN_BUILDERS:
        builder = registry.signal_builder(name)
        assert isinstance(builder, SignalBuilder) and builder.name == name


def test_signals_per_leaf_with_units_kinds_and_labels() -> None:
    trace, meta = trace_and_meta()
    signals = build_signals(trace, meta)
    assert list(signals) == [
        "loss",
        "binary.x_position_as",
        "binary.y_position_as",
        "system.plate_scale",
        "primary.zernike_coeffs_nm",
        "grad_norm",
        "step_norm",
        "primary.zernike_coeffs_rms_nm",
        "primary.zernike_coeffs_norm_nm",
    ]
    x = signals["binary.x_position_as"]
    assert x.unit == "as" and x.kind == "scalar" and x.panel == "astrometry"
    np.testing.assert_array_equal(x.values, trace["theta"][:, 0])
    z = signals["primary.zernike_coeffs_nm"]
    assert z.kind == "components" and z.unit == "nm" and z.values.shape == (30, 9)
    assert z.labels[4] == "primary.zernike_coeffs_nm[4]"
    rms = signals["primary.zernike_coeffs_rms_nm"]
    np.testing.assert_allclose(rms.values, np.sqrt((trace["theta"][:, 3:] ** 2).mean(axis=1)))
    assert rms.kind == "rms"
    np.testing.assert_allclose(
        signals["primary.zernike_coeffs_norm_nm"].values,
        np.linalg.norm(trace["theta"][:, 3:], axis=1),
    )
    assert signals["grad_norm"].panel == "optimizer" and signals["loss"].panel == "loss"
    assert "system.plate_scale_error_ppm" not in signals  # no truth, no errors


def test_errors_against_truth_are_scaled_automatically() -> None:
    trace, meta = trace_and_meta()
    truth = trace["theta"][-1] + np.array([2e-6, -1e-6, 3e-6] + [0.5] * 9)
    signals = build_signals(trace, meta, truth=truth)
    x = signals["binary.x_position_error_uas"]
    assert x.unit == "uas" and x.kind == "error_vs_truth" and x.scale == 1e6
    np.testing.assert_allclose(x.values[-1], -2.0, rtol=1e-6)  # -2e-6 as = -2 µas
    ps = signals["system.plate_scale_error_ppm"]
    assert ps.unit == "ppm"
    expected = 1e6 * (trace["theta"][:, 2] - truth[2]) / truth[2]
    np.testing.assert_allclose(ps.values, expected, rtol=1e-12)
    z = signals["primary.zernike_coeffs_error_nm"]
    assert z.unit == "nm" and z.values.shape == (30, 9)
    np.testing.assert_allclose(z.values[-1], -0.5)
    assert z.panel == "primary.zernikes error"


def test_error_overrides_and_truth_mapping() -> None:
    trace, meta = trace_and_meta()
    builder = ErrorSignals(
        units={"binary.x_position_as": "mas"}, names={"binary.y_position_as": "binary.y_error_uas"}
    )
    truth = {"binary.x_position_as": 0.0, "binary.y_position_as": 0.0}
    out = builder.build(trace, meta, truth=truth)
    assert sorted(out) == ["binary.x_position_error_mas", "binary.y_error_uas"]
    np.testing.assert_allclose(
        out["binary.x_position_error_mas"].values, 1e3 * trace["theta"][:, 0]
    )
    with pytest.raises(ValidationError, match=r"truth names unknown leaves \['nope'\]"):
        builder.build(trace, meta, truth={"nope": 1.0})
    with pytest.raises(ValidationError, match=r"truth has 3 values but the run's theta has D = 12"):
        builder.build(trace, meta, truth=np.zeros(3))
    with pytest.raises(ValidationError, match=r"truth for 'primary.zernike_coeffs_nm' has 2"):
        builder.build(trace, meta, truth={"primary.zernike_coeffs_nm": [1.0, 2.0]})


def test_zero_truth_falls_back_to_absolute_error_for_unitless_leaves() -> None:
    trace, meta = trace_and_meta()
    out = ErrorSignals().build(trace, meta, truth={"system.plate_scale": 0.0})
    assert list(out) == ["system.plate_scale_error"]
    np.testing.assert_allclose(out["system.plate_scale_error"].values, trace["theta"][:, 2])


def test_decoder_and_its_layout_hash() -> None:
    trace, meta = trace_and_meta()

    class Decoder:
        layout_hash = layout().layout_hash

        def __call__(self, theta: np.ndarray) -> dict[str, np.ndarray]:
            return {"binary.separation_mas": 1e3 * np.hypot(theta[:, 0], theta[:, 1])}

    signals = build_signals(trace, meta, builders=["optim.theta"], decoder=Decoder())
    np.testing.assert_allclose(
        signals["binary.separation_mas"].values,
        1e3 * np.hypot(trace["theta"][:, 0], trace["theta"][:, 1]),
    )
    assert signals["binary.separation_mas"].unit == "mas"
    wrong = Decoder()
    wrong.layout_hash = "badbadbadbadbadb"  # type: ignore[misc]
    with pytest.raises(LayoutMismatchError, match=r"the decoder expects 'badbadbadbadbadb'"):
        build_signals(trace, meta, decoder=wrong)
    with pytest.raises(ValidationError, match=r"decoder returned list"):
        build_signals(trace, meta, builders=["optim.theta"], decoder=lambda th: [1])


def test_trace_without_index_map_gives_one_theta_signal() -> None:
    trace, _ = trace_and_meta()
    signals = build_signals(trace, {"theta": {"dim": 12}}, builders=["optim.theta"])
    assert list(signals) == ["theta"] and signals["theta"].values.shape == (30, 12)


def test_step_channel_aligns_signals() -> None:
    trace, meta = trace_and_meta(4)
    trace["step"] = np.array([0, 10, 20, 30])
    signals = build_signals(trace, meta, builders=["optim.loss"])
    assert signals["loss"].steps.tolist() == [0, 10, 20, 30]


class ThirdPartyBuilder:
    name = "thirdparty.theta_norm"

    def build(self, trace, meta, *, decoder=None, truth=None):  # type: ignore[no-untyped-def]
        return {
            "theta_norm": Signal(
                values=np.linalg.norm(np.asarray(trace["theta"]), axis=1), panel="parameters"
            )
        }


class ThirdPartyPlugin:
    @hookimpl
    def capsa_register_signal_builders(self, register):  # type: ignore[no-untyped-def]
        register(ThirdPartyBuilder())


def test_a_third_party_builder_is_used_by_name() -> None:
    trace, meta = trace_and_meta()
    register_plugin(ThirdPartyPlugin(), name="thirdparty-signals")
    try:
        signals = build_signals(trace, meta, extra=["thirdparty.theta_norm"])
        sig = signals["theta_norm"]
        assert isinstance(sig, OptimSignal) and sig.panel == "parameters"
        np.testing.assert_allclose(sig.values, np.linalg.norm(trace["theta"], axis=1))
        with pytest.raises(ValidationError, match=r"'loss' is produced by both"):
            build_signals(trace, meta, builders=["optim.loss", "optim.loss"])
    finally:
        unregister_plugin("thirdparty-signals")
    with pytest.raises(UnknownSignalBuilderError):
        build_signals(trace, meta, builders=["thirdparty.theta_norm"])


def test_signals_npz_is_self_contained(tmp_path: Path) -> None:
    trace, meta = trace_and_meta()
    signals = build_signals(trace, meta, truth=trace["theta"][-1])
    save_run("runs/sig", trace, meta, signals=signals)
    with np.load(tmp_path / "runs" / "sig" / "signals.npz") as npz:
        embedded = json.loads(str(npz[META_KEY]))
        assert embedded["schema"] == "capsa.optim.signals" and embedded["schema_version"] == 1
        assert embedded["signals"]["binary.x_position_error_uas"]["unit"] == "uas"
        np.testing.assert_array_equal(
            npz["binary.x_position_error_uas"], signals["binary.x_position_error_uas"].values
        )
    back = load_signals("runs/sig")
    assert list(back) == list(signals)
    for name, sig in signals.items():
        got = back[name]
        np.testing.assert_array_equal(got.values, sig.values)
        assert (got.unit, got.kind, got.panel, got.labels, got.scale) == (
            sig.unit,
            sig.kind,
            sig.panel,
            sig.labels,
            sig.scale,
        )


def test_signals_npz_steps_and_foreign_files() -> None:
    arrays = encode_signals({"a_nm": Signal(values=np.ones(3), steps=np.array([0, 5, 9]))})
    assert arrays["a_nm@steps"].tolist() == [0, 5, 9]
    assert decode_signals(arrays)["a_nm"].steps.tolist() == [0, 5, 9]
    foreign = decode_signals({"b.err_uas": np.zeros(4), "c": np.zeros((4, 2))})
    assert foreign["b.err_uas"].unit == "uas" and foreign["c"].kind == "components"
    broken = dict(arrays)
    broken[META_KEY] = np.array("{not json")
    with pytest.raises(IntegrityError, match=r"embedded metadata is not valid"):
        decode_signals(broken)
    newer = dict(arrays)
    newer[META_KEY] = np.array(
        json.dumps({"schema": "capsa.optim.signals", "schema_version": 9, "signals": {}})
    )
    with pytest.raises(IncompatibleVersionError):
        decode_signals(newer)
    missing = dict(arrays)
    del missing["a_nm"]
    with pytest.raises(IntegrityError, match=r"lists signal 'a_nm' but no array"):
        decode_signals(missing)


@pytest.mark.parametrize(
    ("signal", "match"),
    [
        (Signal(values=np.zeros((2, 2, 2))), r"shape \(T,\) or \(T, k\)"),
        (Signal(values=np.zeros(3), steps=np.zeros(2, dtype=int)), r"steps must be integers"),
        (OptimSignal(values=np.zeros(3), kind="weird"), r"kind must be one of"),
        (OptimSignal(values=np.zeros((3, 2)), labels=("a",)), r"1 labels for values"),
        (Signal(values=np.zeros(3), unit=5), r"unit must be a str"),  # type: ignore[arg-type]
    ],
)
def test_bad_signals_are_refused(signal: Signal, match: str) -> None:
    with pytest.raises(ValidationError, match=match):
        encode_signals({"s": signal})


def test_unit_helpers() -> None:
    assert split_unit("binary.x_position_as") == ("binary.x_position", "as")
    assert split_unit("system.plate_scale") == ("system.plate_scale", "1")
    assert with_tag("z.coeffs_nm", "rms") == "z.coeffs_rms_nm"
    assert with_tag("a.x_as", "error", "uas") == "a.x_error_uas"
    assert conversion("as", "uas") == pytest.approx(1e6)
    assert conversion("deg", "as") == 3600.0 and conversion("m", "nm") == pytest.approx(1e9)
    assert error_unit("mas") == "uas" and error_unit("um") == "nm" and error_unit("1") == "ppm"
    assert error_unit("s") == "s"
    with pytest.raises(ValidationError, match=r"cannot convert 'as' to 'nm'"):
        conversion("as", "nm")


def test_index_map_from_meta_struct_or_mapping_agree() -> None:
    import msgspec
    from capsa_optim.schema_codec import as_index_map, coerce_meta

    meta = make_meta(index_map=layout())
    as_mapping = {"theta": {"index_map": msgspec.to_builtins(layout())}}
    assert as_index_map(coerce_meta(meta, dim=12)) == as_index_map(as_mapping) == layout()
    assert isinstance(as_index_map(layout()), IndexMap)
    with pytest.raises(ValidationError, match=r"meta.theta.index_map"):
        as_index_map({"theta": {"index_map": {"entries": "x"}}})
