"""The drift-free world: customers, their profile events and their activity snapshots.

Every random draw comes from a stream keyed by ``(seed, purpose, index)``, where the index is
a customer-independent unit of absolute time (a profile event number or a block of activity
slots). A window therefore regenerates exactly the events another window generated for the
same instants, which is what lets a later period be appended to an earlier one.

Times are float days relative to the config's origin while computing, and int64 seconds
since the Unix epoch once an event is placed.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from churn_data import schema

SECONDS_PER_DAY = 86_400
# Offsets that keep stream keys non-negative for blocks before the origin.
KEY_OFFSET = 1 << 31

# Stream purposes (never renumber: doing so changes every generated file).
STREAM_CUSTOMERS = 1
STREAM_PROFILE = 2
STREAM_PROFILE_DRIFT = 3
STREAM_ACTIVITY = 4
STREAM_ACTIVITY_DRIFT = 5
STREAM_QUIET = 6
STREAM_LABELS = 7
STREAM_LABEL_SHIFT = 8

# Customer base.
NEW_CUSTOMER_SHARE = 0.25  # sign up during the first ACQUISITION_DAYS after the origin
ACQUISITION_DAYS = 365.0
MEAN_TENURE_DAYS = 700.0  # existing customers, exponential, capped at MAX_TENURE_DAYS
MAX_TENURE_DAYS = 6 * 365.0
REGION_SHARES = (0.30, 0.25, 0.25, 0.20)
CHANNEL_SHARES = (0.40, 0.35, 0.15, 0.10)
AGE_MEAN, AGE_SD, AGE_MIN, AGE_MAX = 40.0, 13.0, 18.0, 90.0

# Profile events: signup, then plan reviews after gaps of MIN + exponential(MEAN) days.
REVIEW_GAP_MIN_DAYS = 30.0
REVIEW_GAP_MEAN_DAYS = 420.0
DAYS_PER_MONTH = 30.4375
DAYS_PER_YEAR = 365.25

# Activity: slot k of customer i is nominally at grid_offset_i + k * cadence, jittered by
# up to JITTER * cadence; SLOTS_PER_BLOCK consecutive slots share one random stream.
SLOTS_PER_BLOCK = 8
JITTER = 0.3
# Quiet spells: on a QUIET_PERIOD_DAYS grid a spell starts with probability
# sigmoid(QUIET_BASE + QUIET_ENGAGEMENT * engagement) and lasts 1..QUIET_MAX_PERIODS periods.
QUIET_PERIOD_DAYS = 28.0
QUIET_MAX_PERIODS = 3
QUIET_BASE = -3.3
QUIET_ENGAGEMENT = -1.0


def stream(seed: int, purpose: int, *index: int) -> np.random.Generator:
    """The random stream of one purpose and time unit.

    Args:
        seed: The config seed.
        purpose: One of the ``STREAM_*`` constants.
        *index: Non-negative integers naming the unit (event number, block, window).

    Returns:
        A fresh PCG64 generator.
    """
    return np.random.Generator(np.random.PCG64(np.random.SeedSequence([seed, purpose, *index])))


def sigmoid(x: np.ndarray) -> np.ndarray:
    """The logistic function."""
    return 1.0 / (1.0 + np.exp(-x))


def _sample_categories(probs: np.ndarray, u: np.ndarray) -> np.ndarray:
    """Inverse-CDF sample one category per row of ``probs`` (rows sum to 1) from ``u``."""
    cdf = np.cumsum(probs, axis=1)
    return (u[:, None] > cdf[:, :-1]).sum(axis=1).astype(np.int8)


@dataclass(frozen=True)
class CustomerBase:
    """Static attributes and latent engagement of every customer (index i = id - 1).

    Engagement at day t is ``base + amplitude * sin(2 pi t / period + phase)``: a stable
    level plus a slow wave, so a customer drifts in and out of engagement over months.
    """

    signup_day: np.ndarray
    region: np.ndarray
    channel: np.ndarray
    age_at_signup: np.ndarray
    engagement_base: np.ndarray
    engagement_amplitude: np.ndarray
    engagement_period: np.ndarray
    engagement_phase: np.ndarray
    grid_offset: np.ndarray

    @property
    def size(self) -> int:
        """Number of customers."""
        return len(self.signup_day)

    def engagement(self, idx: np.ndarray, day: np.ndarray) -> np.ndarray:
        """Latent engagement of customers ``idx`` at days ``day`` (broadcasting)."""
        wave = np.sin(2 * np.pi * day / self.engagement_period[idx] + self.engagement_phase[idx])
        return self.engagement_base[idx] + self.engagement_amplitude[idx] * wave


def customer_base(seed: int, n_customers: int) -> CustomerBase:
    """Draw the customer base.

    Args:
        seed: The config seed.
        n_customers: Number of customers.

    Returns:
        The base; ``signup_day`` is relative to the origin (negative for existing customers).
    """
    rng = stream(seed, STREAM_CUSTOMERS)
    n = n_customers
    is_new = rng.random(n) < NEW_CUSTOMER_SHARE
    new_day = rng.random(n) * ACQUISITION_DAYS
    # Exponential tenure truncated at MAX_TENURE_DAYS (inverse CDF, no pile-up at the cap).
    tail = 1.0 - np.exp(-MAX_TENURE_DAYS / MEAN_TENURE_DAYS)
    tenure = 1.0 - MEAN_TENURE_DAYS * np.log1p(-rng.random(n) * tail)
    return CustomerBase(
        signup_day=np.where(is_new, new_day, -tenure),
        region=rng.choice(len(schema.REGIONS), size=n, p=REGION_SHARES).astype(np.int8),
        channel=rng.choice(len(schema.CHANNELS), size=n, p=CHANNEL_SHARES).astype(np.int8),
        age_at_signup=np.clip(rng.normal(AGE_MEAN, AGE_SD, n), AGE_MIN, AGE_MAX - 5),
        engagement_base=rng.standard_normal(n),
        engagement_amplitude=rng.uniform(0.2, 0.7, n),
        engagement_period=rng.uniform(120.0, 540.0, n),
        engagement_phase=rng.uniform(0.0, 2 * np.pi, n),
        grid_offset=rng.uniform(0.0, QUIET_PERIOD_DAYS, n),
    )


def plan_probabilities(engagement: np.ndarray) -> np.ndarray:
    """Plan choice probabilities (basic, standard, premium): engaged customers buy up."""
    logits = np.stack(
        [0.3 - 0.9 * engagement, np.full_like(engagement, 0.2), -0.5 + 0.9 * engagement], axis=1
    )
    weights = np.exp(logits - logits.max(axis=1, keepdims=True))
    return weights / weights.sum(axis=1, keepdims=True)


@dataclass(frozen=True)
class ProfileEvents:
    """Profile rows before drift, sorted by (customer, time).

    ``event`` is the event number (0 = signup, then plan reviews); ``plan`` is a level code
    into ``schema.PLANS``. Region and channel are static, so they are looked up in the base.
    ``horizon_day`` is the exclusive end up to which all events are present.
    """

    customer: np.ndarray
    event: np.ndarray
    day: np.ndarray
    plan: np.ndarray
    horizon_day: float


def profile_events(base: CustomerBase, seed: int, end_day: float) -> ProfileEvents:
    """All profile events before ``end_day``: signup plus plan reviews.

    At signup a plan is drawn from ``plan_probabilities(engagement)``; at each review the
    customer moves to one of the two other plans with those probabilities renormalised.
    The loop runs over event numbers (a handful), each step vectorised over customers.

    Args:
        base: The customer base.
        seed: The config seed.
        end_day: Exclusive end, in days from the origin.

    Returns:
        The events, sorted by (customer, time).
    """
    n = base.size
    idx = np.arange(n)
    day = base.signup_day.copy()
    plan = np.zeros(n, dtype=np.int8)
    parts: list[tuple[np.ndarray, int, np.ndarray, np.ndarray]] = []
    event = 0
    while True:
        rng = stream(seed, STREAM_PROFILE, event)
        if event > 0:
            day = day + REVIEW_GAP_MIN_DAYS + rng.exponential(REVIEW_GAP_MEAN_DAYS, n)
        probs = plan_probabilities(base.engagement(idx, day))
        if event > 0:
            probs[idx, plan] = 0.0
            probs /= probs.sum(axis=1, keepdims=True)
        plan = _sample_categories(probs, rng.random(n))
        alive = np.flatnonzero(day < end_day)
        if len(alive) == 0:
            break
        parts.append((alive, event, day[alive], plan[alive]))
        event += 1
    customer = np.concatenate([p[0] for p in parts])
    events = np.concatenate([np.full(len(p[0]), p[1], dtype=np.int64) for p in parts])
    days = np.concatenate([p[2] for p in parts])
    plans = np.concatenate([p[3] for p in parts])
    # Parts are event-major and each is sorted by customer: a stable sort by customer
    # merges them into (customer, time) order.
    order = np.argsort(customer, kind="stable")
    return ProfileEvents(customer[order], events[order], days[order], plans[order], end_day)


def profile_values(
    base: CustomerBase, events: ProfileEvents
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Region, channel, tenure_months and age recorded on each profile event.

    Tenure and age are the values at the event's time (whole months / years), so between
    events they go stale like any slowly changing dimension.
    """
    elapsed = events.day - base.signup_day[events.customer]
    tenure = np.floor(elapsed / DAYS_PER_MONTH)
    age = np.minimum(np.floor(base.age_at_signup[events.customer] + elapsed / DAYS_PER_YEAR), 90)
    return base.region[events.customer], base.channel[events.customer], tenure, age


def to_seconds(origin_seconds: int, day: np.ndarray) -> np.ndarray:
    """Whole seconds since the epoch of days from the origin."""
    return origin_seconds + np.rint(day * SECONDS_PER_DAY).astype(np.int64)


def asof_index(
    feature_customer: np.ndarray,
    feature_seconds: np.ndarray,
    query_customer: np.ndarray,
    query_seconds: np.ndarray,
    ttl_seconds: int | None = None,
) -> np.ndarray:
    """Index of the latest feature row at or before each query, within a TTL (Feast semantics).

    A feature row at time ``f`` is valid for a query at ``t`` when ``t - ttl <= f <= t``.

    Args:
        feature_customer: Customer of each feature row; rows sorted by (customer, seconds).
        feature_seconds: Time of each feature row.
        query_customer: Customer of each query.
        query_seconds: Time of each query.
        ttl_seconds: The TTL, or ``None`` for no limit.

    Returns:
        For each query the row index, or -1 when no row is valid.
    """
    # |seconds| < 2**34 (about 544 years), so customer * 2**35 + seconds sorts by both.
    shift = np.int64(35)
    feature_key = (feature_customer.astype(np.int64) << shift) + feature_seconds
    query_key = (query_customer.astype(np.int64) << shift) + query_seconds
    pos = np.searchsorted(feature_key, query_key, side="right") - 1
    safe = np.maximum(pos, 0)
    valid = (pos >= 0) & (feature_customer[safe] == query_customer)
    if ttl_seconds is not None:
        valid &= feature_seconds[safe] >= query_seconds - ttl_seconds
    return np.where(valid, pos, -1)


@dataclass(frozen=True)
class ActivitySlots:
    """Activity snapshots before drift (quiet slots and slots before signup removed).

    ``block`` and ``position`` locate each row in its random stream so drift draws can be
    keyed the same way; ``values`` maps each activity feature to float64.
    """

    customer: np.ndarray
    day: np.ndarray
    block: np.ndarray
    position: np.ndarray
    values: dict[str, np.ndarray]


def _slot_blocks(cadence: float, lo_day: float, hi_day: float) -> range:
    """Slot blocks whose slots can fall in ``[lo_day, hi_day)`` for some customer."""
    k_lo = int(np.floor((lo_day - QUIET_PERIOD_DAYS) / cadence)) - 1
    k_hi = int(np.ceil(hi_day / cadence)) + 1
    return range(k_lo // SLOTS_PER_BLOCK, k_hi // SLOTS_PER_BLOCK + 1)


def activity_horizon(cadence: float, hi_day: float) -> float:
    """The latest time any slot of the blocks ``activity_slots`` draws for ``hi_day`` can have.

    A block's Poisson draws depend on the plan of every slot in it, including slots after the
    window, so profile events must be known up to here for a window's values to equal the
    values any other window draws for the same slots.
    """
    last_slot = _slot_blocks(cadence, hi_day, hi_day).stop * SLOTS_PER_BLOCK
    return last_slot * cadence + QUIET_PERIOD_DAYS + cadence


def _quiet_matrix(base: CustomerBase, seed: int, periods: np.ndarray) -> tuple[np.ndarray, int]:
    """Whether each customer is in a quiet spell in each period of ``periods`` (contiguous).

    Returns:
        A (len(periods), n) bool matrix and the first period index it covers.
    """
    n = base.size
    idx = np.arange(n)
    first = int(periods.min())
    last = int(periods.max())
    quiet = np.zeros((last - first + 1, n), dtype=bool)
    for start in range(first - QUIET_MAX_PERIODS + 1, last + 1):
        rng = stream(seed, STREAM_QUIET, start + KEY_OFFSET)
        mid = base.grid_offset + (start + 0.5) * QUIET_PERIOD_DAYS
        p = sigmoid(QUIET_BASE + QUIET_ENGAGEMENT * base.engagement(idx, mid))
        begins = rng.random(n) < p
        length = rng.integers(1, QUIET_MAX_PERIODS + 1, n)
        for offset in range(QUIET_MAX_PERIODS):
            row = start + offset - first
            if 0 <= row < len(quiet):
                quiet[row] |= begins & (length > offset)
    return quiet, first


def activity_slots(
    base: CustomerBase,
    events: ProfileEvents,
    seed: int,
    cadence: float,
    lo_day: float,
    hi_day: float,
) -> ActivitySlots:
    """Activity snapshots with actual time in ``[lo_day, hi_day)``.

    Each snapshot's values depend on the customer's engagement ``e`` and plan level ``L``
    (0 basic, 1 standard, 2 premium) at that time:

    - ``sessions_7d ~ Poisson(exp(1.45 + 0.55 e + 0.12 L))``
    - ``orders ~ Poisson(exp(0.55 + 0.45 e + 0.15 L))`` (not emitted),
      ``avg_order_value ~ LogNormal(3.2 + 0.3 L, 0.35)`` (0 without orders),
      ``spend_30d = orders * avg_order_value``
    - ``support_tickets_30d ~ Poisson(exp(-1.4 - 0.45 e + 0.25 [L = 0]))``
    - ``days_since_last_login``: the latest of ``sessions_7d`` uniform logins in the last
      7 days, or ``7 + Exponential(exp(2.2 - 0.7 e))`` without sessions.

    Args:
        base: The customer base.
        events: Its profile events (for the plan in force at each snapshot), up to at least
            ``activity_horizon(cadence, hi_day)``.
        seed: The config seed.
        cadence: Mean snapshot spacing in days.
        lo_day: Inclusive start, days from the origin.
        hi_day: Exclusive end, days from the origin.

    Returns:
        The snapshots, sorted by (customer, time).
    """
    n = base.size
    idx = np.arange(n)
    if events.horizon_day < activity_horizon(cadence, hi_day):
        raise ValueError(
            f"profile events end at day {events.horizon_day}, activity up to {hi_day} needs"
            f" them up to activity_horizon = {activity_horizon(cadence, hi_day)}"
        )
    blocks = _slot_blocks(cadence, lo_day, hi_day)
    k_all = np.arange(blocks.start * SLOTS_PER_BLOCK, blocks.stop * SLOTS_PER_BLOCK)
    periods = np.floor(k_all * cadence / QUIET_PERIOD_DAYS).astype(np.int64)
    quiet, first_period = _quiet_matrix(base, seed, periods)
    event_key_customer = events.customer
    event_seconds = np.rint(events.day * SECONDS_PER_DAY).astype(np.int64)
    parts = []
    for block in blocks:
        k = np.arange(block * SLOTS_PER_BLOCK, (block + 1) * SLOTS_PER_BLOCK)
        shape = (n, SLOTS_PER_BLOCK)
        rng = stream(seed, STREAM_ACTIVITY, block + KEY_OFFSET)
        jitter = (rng.random(shape) * 2 - 1) * JITTER * cadence
        day = base.grid_offset[:, None] + k[None, :] * cadence + jitter
        cust = np.broadcast_to(idx[:, None], shape)
        e = base.engagement(cust, day)
        plan_pos = asof_index(
            event_key_customer,
            event_seconds,
            cust.ravel(),
            np.rint(day.ravel() * SECONDS_PER_DAY).astype(np.int64),
        )
        level = np.where(plan_pos >= 0, events.plan[np.maximum(plan_pos, 0)], 0).reshape(shape)
        sessions = rng.poisson(np.exp(1.45 + 0.55 * e + 0.12 * level)).astype(np.float64)
        orders = rng.poisson(np.exp(0.55 + 0.45 * e + 0.15 * level)).astype(np.float64)
        aov = np.exp(3.2 + 0.3 * level + 0.35 * rng.standard_normal(shape))
        tickets = rng.poisson(np.exp(-1.4 - 0.45 * e + 0.25 * (level == 0))).astype(np.float64)
        u_login = rng.random(shape)
        # All draws are made; now keep the slots that exist and derive values for them only.
        period_row = np.floor(k * cadence / QUIET_PERIOD_DAYS).astype(np.int64) - first_period
        keep = (
            ~quiet[period_row].T
            & (day >= base.signup_day[:, None])
            & (day >= lo_day)
            & (day < hi_day)
        )
        rows, cols = np.nonzero(keep)
        sessions, orders, e, u_login = (
            sessions[rows, cols],
            orders[rows, cols],
            e[rows, cols],
            u_login[rows, cols],
        )
        spend = np.round(orders * aov[rows, cols], 2)
        avg_order = np.where(orders > 0, np.round(spend / np.maximum(orders, 1), 2), 0.0)
        last_login_active = 7.0 * (1.0 - u_login ** (1.0 / np.maximum(sessions, 1.0)))
        last_login_idle = np.minimum(7.0 - np.log(u_login) * np.exp(2.2 - 0.7 * e), 365.0)
        since_login = np.round(np.where(sessions > 0, last_login_active, last_login_idle), 2)
        parts.append(
            (
                rows,
                day[rows, cols],
                np.full(len(rows), block, dtype=np.int64),
                cols,
                {
                    "sessions_7d": sessions,
                    "spend_30d": spend,
                    "support_tickets_30d": tickets[rows, cols],
                    "avg_order_value": avg_order,
                    "days_since_last_login": since_login,
                },
            )
        )
    # Parts are block-major and each is sorted by (customer, slot); slots of one customer are
    # in time order (jitter < cadence / 2), so a stable sort by customer gives (customer, time).
    customer = np.concatenate([p[0] for p in parts]).astype(np.int64)
    order = np.argsort(customer, kind="stable")
    return ActivitySlots(
        customer=customer[order],
        day=np.concatenate([p[1] for p in parts])[order],
        block=np.concatenate([p[2] for p in parts])[order],
        position=np.concatenate([p[3] for p in parts]).astype(np.int64)[order],
        values={
            name: np.concatenate([p[4][name] for p in parts])[order]
            for name in schema.ACTIVITY_FEATURES
        },
    )
