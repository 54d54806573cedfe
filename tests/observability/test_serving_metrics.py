"""The served-model metric definitions, recorded into a fresh prometheus-client registry."""

import pytest
from mlserver.errors import MLServerError
from prometheus_client import CollectorRegistry, generate_latest

from components._observability.serving import (
    outcome_of,
    positive_probabilities,
    record_request,
)
from tests._helpers.prometheus_text import parse_prometheus_text, sample_total


def test_a_request_records_latency_outcomes_and_the_positive_class_probability():
    """One predict_proba answer of 3 rows lands in the three collectors with model/version.

    Proves: the latency histogram counts the request, every outcome series exists (0 for
    the ones not seen, so an error ratio is 0 rather than empty), and the probability
    histogram holds the second column of a [n, 2] output. Cannot prove MLServer exports
    this registry (the end-to-end test scrapes a real MLServer for that).
    """
    registry = CollectorRegistry()
    outputs = [{"name": "output-1", "shape": [3, 2], "data": [0.9, 0.1, 0.2, 0.8, 0.6, 0.4]}]
    record_request("churn", "2", 0.012, outputs=outputs, registry=registry)
    samples = parse_prometheus_text(generate_latest(registry).decode())
    labels = {"model": "churn", "version": "2"}
    assert sample_total(samples, "suite_model_request_duration_seconds_count", **labels) == 1
    assert sample_total(samples, "suite_model_requests_total", outcome="success", **labels) == 1
    assert sample_total(samples, "suite_model_requests_total", outcome="server_error") == 0
    assert ("suite_model_requests_total", (("model", "churn"), ("outcome", "server_error"),
            ("version", "2"))) in samples  # fmt: skip
    assert sample_total(samples, "suite_model_predicted_probability_count", **labels) == 3
    total = sample_total(samples, "suite_model_predicted_probability_sum", **labels)
    assert total == pytest.approx(1.3)
    assert sample_total(samples, "suite_model_predicted_probability_bucket", le="0.5") == 2


@pytest.mark.parametrize(
    ("outputs", "expected"),
    [
        ([{"shape": [2, 2], "data": [0.3, 0.7, 0.9, 0.1]}], [0.7, 0.1]),
        ([{"shape": [2, 1], "data": [0.3, 0.7]}], [0.3, 0.7]),
        ([{"shape": [2], "data": [0.25, 0.5]}], [0.25, 0.5]),
        ([{"shape": [2], "data": [3.0, 12.5]}], []),  # a regressor: not probabilities
        ([{"shape": [1], "data": [1]}, {"shape": [1], "data": [2]}], []),  # several outputs
    ],
)
def test_positive_probabilities_reads_the_shapes_models_answer_with(outputs, expected):
    """Proves which V2 output shapes count as probabilities. Cannot cover every codec."""
    assert positive_probabilities(outputs) == pytest.approx(expected)


def test_outcome_of_separates_client_from_server_errors():
    """A 422 MLServerError is the client's fault, anything else the server's.

    Proves: bad rows do not count towards the 5xx error-ratio alert. Cannot prove every
    exception MLServer raises carries a status.
    """
    assert outcome_of(MLServerError("bad rows", status_code=422)) == "client_error"
    assert outcome_of(MLServerError("broken", status_code=500)) == "server_error"
    assert outcome_of(RuntimeError("boom")) == "server_error"
