"""Read MLServer's Prometheus metrics (the metrics port, ``/metrics``) in tests."""

from __future__ import annotations


def parse_prometheus_text(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Parses Prometheus exposition text into ``{(sample name, labels): value}``.

    Labels are a sorted tuple of ``(key, value)`` pairs so the result can be
    looked up without caring about label order.
    """
    from prometheus_client.parser import text_string_to_metric_families

    samples: dict[tuple[str, tuple[tuple[str, str], ...]], float] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = float(sample.value)
    return samples


def sample_total(
    samples: dict[tuple[str, tuple[tuple[str, str], ...]], float],
    name: str,
    **labels: str,
) -> float:
    """Sums every sample called ``name`` whose labels include ``labels``.

    Returns 0.0 when nothing matches (a counter that was never incremented is
    not exported yet).
    """
    wanted = set(labels.items())
    return sum(
        value
        for (sample_name, sample_labels), value in samples.items()
        if sample_name == name and wanted <= set(sample_labels)
    )


def scrape(metrics_url: str, timeout_s: float = 5.0) -> dict[tuple[str, tuple], float]:
    """GETs a Prometheus endpoint and parses it.

    Raises:
        requests.HTTPError: If the endpoint does not answer 200.
    """
    import requests

    response = requests.get(metrics_url, timeout=timeout_s)
    response.raise_for_status()
    return parse_prometheus_text(response.text)
