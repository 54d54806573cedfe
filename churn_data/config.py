"""Generator parameters: the world, the window to emit, the drift scenario, label coefficients."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import pandas as pd

from churn_data import schema

SCENARIOS = (
    "covariate_shift",
    "new_category",
    "concept_drift",
    "missingness_surge",
    "label_shift",
)
NONE_SCENARIO = "none"

# The value a ``new_category`` scenario introduces when none is given.
DEFAULT_NEW_CATEGORY = {"plan": "family", "region": "central", "channel": "marketplace"}

TimeLike = str | datetime | pd.Timestamp


def to_utc(value: TimeLike) -> pd.Timestamp:
    """Parse a time as a tz-aware UTC timestamp (naive input is taken as UTC).

    Args:
        value: An ISO string, datetime or Timestamp.

    Returns:
        The UTC timestamp with nanosecond unit.
    """
    stamp = pd.Timestamp(value)
    stamp = stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")
    return stamp.as_unit("ns")


@dataclass(frozen=True)
class LabelCoefficients:
    """Coefficients of the churn logit (see the package docstring for the formula).

    Categorical effects are relative to the reference levels plan=standard, channel=web,
    region=north; ``*_new`` is the effect of the value a ``new_category`` scenario adds.
    """

    intercept: float = -0.68
    plan_basic: float = 0.35
    plan_premium: float = -0.30
    plan_new: float = 0.60
    channel_mobile: float = -0.10
    channel_store: float = -0.30
    channel_partner: float = 0.35
    channel_new: float = 0.60
    region_south: float = 0.10
    region_west: float = -0.10
    region_new: float = 0.30
    log_tenure: float = -0.35
    age_sq: float = 0.40
    log_sessions: float = -0.75
    tickets: float = 0.45
    tickets_premium: float = 0.40
    log_days_since_login: float = 0.30
    inactive_14d: float = 0.80
    log_spend: float = -0.15
    activity_missing: float = 1.20

    def blend(self, other: LabelCoefficients, weight: float) -> LabelCoefficients:
        """Move each coefficient ``weight`` of the way from ``self`` to ``other``.

        Args:
            other: The target coefficients.
            weight: 0 returns ``self``, 1 returns ``other``; values outside [0, 1] extrapolate.

        Returns:
            The blended coefficients.
        """
        return LabelCoefficients(
            **{
                f.name: getattr(self, f.name)
                + weight * (getattr(other, f.name) - getattr(self, f.name))
                for f in dataclasses.fields(self)
            }
        )


BASE_COEFFICIENTS = LabelCoefficients()
# Concept drift target: a competitor poaches heavy users (sessions now raise churn), a price
# rise hits premium (premium and its support-ticket interaction flip), basic becomes sticky.
DRIFTED_COEFFICIENTS = dataclasses.replace(
    BASE_COEFFICIENTS,
    intercept=-3.20,  # keeps the churn rate near the base rate: the relation moves, not the prior
    plan_basic=-0.30,
    plan_premium=0.70,
    log_sessions=0.45,
    tickets=0.05,
    tickets_premium=-0.20,
    log_spend=0.15,
)


@dataclass(frozen=True)
class DriftScenario:
    """Which drift to inject from ``start`` on (events with timestamp >= ``start``).

    Attributes:
        kinds: Scenario names from ``SCENARIOS``; empty means no drift. Combine freely.
        start: The drift start (``drift_start``); required when ``kinds`` is not empty.
        shift_features: Numeric features moved by ``covariate_shift``.
        magnitude: ``covariate_shift`` size in reference standard deviations (may be < 0).
        new_category_feature: Categorical feature that gains a value under ``new_category``.
        new_category_value: The new value; ``None`` picks ``DEFAULT_NEW_CATEGORY[feature]``.
        new_category_rate: Share of profile rows after ``start`` that carry the new value.
        missing_features: Features nulled by ``missingness_surge``.
        missing_rate: Share of rows after ``start`` whose chosen features are nulled.
        churn_odds_factor: ``label_shift`` multiplies the prior odds of churn by this.
        concept_strength: ``concept_drift`` moves the label coefficients this fraction of the
            way to ``DRIFTED_COEFFICIENTS`` (1 = fully).
    """

    kinds: tuple[str, ...] = ()
    start: pd.Timestamp | None = None
    shift_features: tuple[str, ...] = ("sessions_7d", "spend_30d")
    magnitude: float = 1.0
    new_category_feature: str = "channel"
    new_category_value: str | None = None
    new_category_rate: float = 0.3
    missing_features: tuple[str, ...] = ("spend_30d", "days_since_last_login")
    missing_rate: float = 0.3
    churn_odds_factor: float = 2.5
    concept_strength: float = 1.0

    def __post_init__(self) -> None:
        kinds = tuple(dict.fromkeys(self.kinds))
        unknown = [kind for kind in kinds if kind not in SCENARIOS]
        if unknown:
            raise ValueError(f"unknown drift scenario(s) {unknown}; valid: {list(SCENARIOS)}")
        object.__setattr__(self, "kinds", tuple(kind for kind in SCENARIOS if kind in kinds))
        object.__setattr__(self, "shift_features", tuple(self.shift_features))
        object.__setattr__(self, "missing_features", tuple(self.missing_features))
        if self.start is not None:
            object.__setattr__(self, "start", to_utc(self.start))
        if self.kinds and self.start is None:
            raise ValueError(f"drift scenario {self.name!r} needs a drift start (drift_start)")
        bad_shift = [f for f in self.shift_features if f not in schema.NUMERIC_FEATURES]
        if "covariate_shift" in self.kinds and (bad_shift or not self.shift_features):
            raise ValueError(
                "shift_features must be non-empty numeric features"
                f" {list(schema.NUMERIC_FEATURES)}, got {list(self.shift_features)}"
            )
        if self.new_category_feature not in schema.CATEGORIES:
            raise ValueError(
                f"new_category_feature must be one of {list(schema.CATEGORIES)},"
                f" got {self.new_category_feature!r}"
            )
        if self.new_category_value is None:
            object.__setattr__(
                self, "new_category_value", DEFAULT_NEW_CATEGORY[self.new_category_feature]
            )
        if self.new_category_value in schema.CATEGORIES[self.new_category_feature]:
            raise ValueError(
                f"new_category_value {self.new_category_value!r} already exists in"
                f" {self.new_category_feature}"
            )
        bad_missing = [f for f in self.missing_features if f not in schema.FEATURES]
        if "missingness_surge" in self.kinds and (bad_missing or not self.missing_features):
            raise ValueError(
                f"missing_features must be non-empty features {list(schema.FEATURES)},"
                f" got {list(self.missing_features)}"
            )
        for name in ("new_category_rate", "missing_rate"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise ValueError(f"{name} must be in [0, 1], got {getattr(self, name)}")
        if self.churn_odds_factor <= 0:
            raise ValueError(f"churn_odds_factor must be > 0, got {self.churn_odds_factor}")

    @classmethod
    def parse(cls, spec: str, start: TimeLike | None = None, **params: Any) -> DriftScenario:
        """Build a scenario from a ``+``-joined spec such as ``"covariate_shift+concept_drift"``.

        Args:
            spec: ``"none"`` or scenario names joined by ``+``.
            start: The drift start; required unless ``spec`` is ``"none"``.
            **params: Any other ``DriftScenario`` field.

        Returns:
            The scenario.

        Raises:
            ValueError: On an unknown name, ``none`` combined with another, or a missing start.
        """
        names = [part.strip() for part in spec.split("+") if part.strip()]
        if names == [NONE_SCENARIO] or not names:
            return cls(kinds=(), start=None if start is None else to_utc(start), **params)
        if NONE_SCENARIO in names:
            raise ValueError(f"'none' cannot be combined with other scenarios: {spec!r}")
        return cls(kinds=tuple(names), start=None if start is None else to_utc(start), **params)

    @property
    def name(self) -> str:
        """The ``+``-joined spec (``"none"`` without drift)."""
        return "+".join(self.kinds) if self.kinds else NONE_SCENARIO

    def has(self, kind: str) -> bool:
        """Whether this scenario includes ``kind``."""
        return kind in self.kinds

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready description of the scenario."""
        out = dataclasses.asdict(self)
        out["kinds"] = list(self.kinds)
        out["name"] = self.name
        out["start"] = None if self.start is None else self.start.isoformat()
        out["shift_features"] = list(self.shift_features)
        out["missing_features"] = list(self.missing_features)
        return out


@dataclass(frozen=True)
class GeneratorConfig:
    """What to generate.

    The customer base (who exists, when they signed up, their latent engagement) depends
    only on ``seed``, ``n_customers`` and ``origin``; every feature event is a function of
    absolute time. So two configs that share those three fields describe the same world,
    and ``[start, end)`` only selects which part of it to emit.

    Attributes:
        n_customers: Size of the customer base (existing and future signups).
        start: Start of the emitted window (inclusive).
        end: End of the emitted window (exclusive).
        seed: Seed of every random choice.
        labels_per_customer: Expected label rows per customer over the window (fewer for
            customers who become eligible part-way through).
        cadence_days: Mean spacing of activity snapshots (each jittered by up to 30 %).
        origin: Anchor of the customer base; ``None`` means ``start``. A later period keeps
            the first period's origin. The window starting at ``origin`` also emits the
            history features need: all earlier profile rows and the last 30 days of activity.
        warmup_days: A customer gets label rows only this long after signing up.
        scenario: The drift scenario.
    """

    n_customers: int = 10_000
    start: pd.Timestamp = field(default_factory=lambda: to_utc("2024-01-01"))
    end: pd.Timestamp = field(default_factory=lambda: to_utc("2024-07-01"))
    seed: int = 0
    labels_per_customer: float = 2.0
    cadence_days: float = 7.0
    origin: pd.Timestamp | None = None
    warmup_days: float = 30.0
    scenario: DriftScenario = field(default_factory=DriftScenario)

    def __post_init__(self) -> None:
        object.__setattr__(self, "start", to_utc(self.start))
        object.__setattr__(self, "end", to_utc(self.end))
        origin = self.start if self.origin is None else to_utc(self.origin)
        object.__setattr__(self, "origin", origin)
        if self.n_customers < 1:
            raise ValueError(f"n_customers must be >= 1, got {self.n_customers}")
        if self.end <= self.start:
            raise ValueError(f"end ({self.end}) must be after start ({self.start})")
        if self.start < origin:
            raise ValueError(f"start ({self.start}) must not precede origin ({origin})")
        if self.seed < 0:
            raise ValueError(f"seed must be >= 0, got {self.seed}")
        if self.labels_per_customer < 0:
            raise ValueError(f"labels_per_customer must be >= 0, got {self.labels_per_customer}")
        if not 1.0 <= self.cadence_days <= 18.0:
            raise ValueError(
                f"cadence_days must be in [1, 18] so an active customer always has a snapshot"
                f" inside the {schema.ACTIVITY_TTL_DAYS}-day TTL, got {self.cadence_days}"
            )
        if self.warmup_days < 0:
            raise ValueError(f"warmup_days must be >= 0, got {self.warmup_days}")

    @property
    def is_first_period(self) -> bool:
        """Whether this window starts at the origin (and so carries the history)."""
        return self.start == self.origin

    def later_period(
        self, start: TimeLike, end: TimeLike, scenario: DriftScenario | None = None
    ) -> GeneratorConfig:
        """The config of a later window over the same world (same seed, customers, origin).

        Args:
            start: Start of the later window.
            end: End of the later window.
            scenario: Its drift scenario; ``None`` keeps this config's scenario.

        Returns:
            The new config.
        """
        return dataclasses.replace(
            self,
            start=to_utc(start),
            end=to_utc(end),
            origin=self.origin,
            scenario=self.scenario if scenario is None else scenario,
        )

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready description of the config."""
        return {
            "n_customers": self.n_customers,
            "start": self.start.isoformat(),
            "end": self.end.isoformat(),
            "origin": self.origin.isoformat(),
            "seed": self.seed,
            "labels_per_customer": self.labels_per_customer,
            "cadence_days": self.cadence_days,
            "warmup_days": self.warmup_days,
            "scenario": self.scenario.to_dict(),
        }
