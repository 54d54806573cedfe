"""Observability shared by the steps and the serving runtime.

- :mod:`.push`: gauges to a Prometheus Pushgateway, retried with backoff, never raising.
- :mod:`.steps`: one ``publish_*`` call per verdict step (validate_data, check_drift,
  evaluate_model, deploy_model) turning its result into gauges (and, for verdicts a person
  must hear about, a direct webhook notification).
- :mod:`.notify`: a Slack-compatible webhook notifier with retry and timeout.
- :mod:`.serving`: the served-model metrics (latency and predicted-probability histograms)
  the suite MLServer runtime records per model name and version.

Nothing here imports kfp; prometheus-client, tenacity and requests are imported inside
functions so a task that publishes nothing pays nothing.
"""
