"""Synthetic churn data with a known generating function and injectable drift.

Quick use::

    from churn_data import DriftScenario, GeneratorConfig, append_sources, generate, write_sources

    first = GeneratorConfig(n_customers=10_000, start="2024-01-01", end="2024-07-01", seed=7)
    write_sources(generate(first), "data")
    drift = DriftScenario.parse("covariate_shift+concept_drift", start="2024-07-01")
    append_sources(generate(first.later_period("2024-07-01", "2024-10-01", drift)), "data")

or ``python -m churn_data generate --out data ...`` (``--help`` lists the options).

Files and schema (CONVENTIONS.md, ``churn_data.schema``): ``profiles.parquet``,
``activity.parquet``, ``labels.parquet`` (the Feast sources) plus ``snapshot.parquet`` (ground
truth) and ``generator.json`` (config and summary per period). Rows are sorted by
(customer_id, event_timestamp); timestamps are whole seconds, UTC.

The world (``churn_data.world``; same seed, customers and origin = same world)
------------------------------------------------------------------------------
* Customers ``1..n_customers``: 75 % signed up before the origin (tenure exponential, mean
  700 days, at most 6 years), 25 % sign up during the year after it. Region and acquisition
  channel are static; age at signup ~ N(40, 13) clipped to [18, 85].
* Latent engagement ``e(t) = b + a sin(2 pi t / P + phi)``, ``b ~ N(0, 1)``,
  ``a ~ U(0.2, 0.7)``, ``P ~ U(120, 540)`` days: customers drift in and out of engagement.
* Profile rows (slowly changing): one at signup, then plan reviews every 30 + Exp(420) days.
  The plan is drawn from softmax(0.3 - 0.9 e, 0.2, -0.5 + 0.9 e) over (basic, standard,
  premium); a review always moves to another plan. ``tenure_months`` and ``age`` are the
  values at the row's time, so they go stale between rows, like any SCD.
* Activity snapshots every ``cadence_days`` (jitter +-30 %) with values driven by ``e`` and the
  plan level ``L`` (0, 1, 2): sessions_7d ~ Poisson(exp(1.45 + 0.55 e + 0.12 L)); orders ~
  Poisson(exp(0.55 + 0.45 e + 0.15 L)), avg_order_value ~ LogNormal(3.2 + 0.3 L, 0.35) (0
  without orders), spend_30d = orders x avg_order_value; support_tickets_30d ~
  Poisson(exp(-1.4 - 0.45 e + 0.25 [basic])); days_since_last_login = latest of the week's
  sessions, or 7 + Exp(mean exp(2.2 - 0.7 e)) days (at most 365) without sessions.
* Quiet spells: on a 28-day grid a spell of 1-3 periods starts with probability
  sigmoid(-3.3 - e). A quiet customer has no snapshot, so after 30 days a point-in-time
  lookup with the activity TTL returns nulls (about 6 % of label rows): the model must
  handle missing activity, which is itself a churn signal.

Labels and the generating function (``churn_data.labels.churn_logit``)
----------------------------------------------------------------------
Each customer gets Poisson(``labels_per_customer`` x share of the window it is eligible)
label rows at uniform times, never before signup + ``warmup_days``. At a label time t the
features are looked up as Feast does: the latest profile row <= t (TTL 3650 days) and the
latest activity snapshot <= t (TTL 30 days, else all activity is null). Then

    z = intercept + plan + channel + region
        + log_tenure * log1p(tenure_months) + age_sq * ((age - 45) / 15)^2
        + (activity found ?
              log_sessions * log1p(sessions_7d)
            + tickets * support_tickets_30d + tickets_premium * support_tickets_30d * [premium]
            + log_days_since_login * log1p(days_since_last_login)
            + inactive_14d * [days_since_last_login > 14]
            + log_spend * log1p(spend_30d)
          : activity_missing)
    churn_probability = sigmoid(z),   churned ~ Bernoulli(churn_probability)

with the coefficients of ``BASE_COEFFICIENTS`` (``LabelCoefficients`` defaults): intercept
-0.68; plan basic +0.35, premium -0.30 (standard 0); channel mobile -0.10, store -0.30,
partner +0.35 (web 0); region south +0.10, west -0.10; log_tenure -0.35; age_sq 0.40;
log_sessions -0.75; tickets 0.45; tickets_premium 0.40; log_days_since_login 0.30;
inactive_14d 0.80; log_spend -0.15; activity_missing 1.20; any category value not in the
schema (a ``new_category``) +0.60 (plan, channel) or +0.30 (region). The churn rate is about
16 %. There is no hidden term: ``churn_probability`` is exactly P(churned | features), so the
ROC AUC of ``churn_probability`` against the sampled labels (``summary["ceiling_auc"]``,
about 0.83) is the Bayes ceiling a model of these features can reach, up to sampling noise.

Drift scenarios (``DriftScenario``; each acts on events at or after ``start``, combinable)
-----------------------------------------------------------------------------------------
* ``covariate_shift``: each of ``shift_features`` (numeric; default sessions_7d, spend_30d)
  gains ``magnitude`` x its reference SD (``churn_data.drift.REFERENCE_SD``) on activity or
  profile rows after the start, rounded and clipped to the feature's range (counts >= 0, age
  18-90, so a negative shift moves the mean a little less). P(churned | features) is
  unchanged; the churn rate follows the features.
* ``new_category``: ``new_category_rate`` of the profile rows after the start (signups and
  reviews) carry ``new_category_value`` (default plan "family", region "central", channel
  "marketplace") in ``new_category_feature``; its churn effect is the ``*_new`` coefficient.
* ``concept_drift``: labels after the start use coefficients moved ``concept_strength`` of the
  way to ``DRIFTED_COEFFICIENTS`` (sessions now raise churn, premium churns, basic is sticky,
  intercept -3.20 keeps the churn rate near 16 %). Feature distributions are untouched.
* ``missingness_surge``: each of ``missing_features`` is nulled in ``missing_rate`` of the
  rows after the start (recording fails; the customer does not change): labels and
  ``churn_probability`` use the true values, the files and the snapshot show the nulls.
* ``label_shift``: prior shift. Label rows after the start are thinned by class (negatives
  kept with probability 1 / ``churn_odds_factor`` if it is > 1, else positives with
  probability ``churn_odds_factor``), so the odds of churn scale by the factor while
  P(features | churned) stays; ``churn_probability`` there is sigmoid(z + log(factor)).

Periods and determinism
-----------------------
Every draw comes from a stream keyed by (seed, purpose, unit of absolute time), so the
same config always gives byte-identical files, and a window re-creates exactly the events
any other window has for the same instants. ``GeneratorConfig.later_period`` keeps the
origin; the period starting at the origin also emits the history (all earlier profile rows,
the last 30 days of activity). Without drift, ``[t0, t2)`` equals ``[t0, t1)`` appended with
``[t1, t2)`` for profiles and activity (labels are drawn per window). The snapshot of a window
equals a point-in-time join of its labels over all periods written so far, provided the
feature rows before its start were generated with the same scenario (always true when the
drift starts at or after the window start).
"""

from churn_data import schema
from churn_data.config import (
    BASE_COEFFICIENTS,
    DRIFTED_COEFFICIENTS,
    SCENARIOS,
    DriftScenario,
    GeneratorConfig,
    LabelCoefficients,
)
from churn_data.generator import ChurnData, generate
from churn_data.io import append_sources, read_periods, read_sources, write_sources
from churn_data.labels import churn_logit, roc_auc

__all__ = [
    "BASE_COEFFICIENTS",
    "DRIFTED_COEFFICIENTS",
    "SCENARIOS",
    "ChurnData",
    "DriftScenario",
    "GeneratorConfig",
    "LabelCoefficients",
    "append_sources",
    "churn_logit",
    "generate",
    "read_periods",
    "read_sources",
    "roc_auc",
    "schema",
    "write_sources",
]
