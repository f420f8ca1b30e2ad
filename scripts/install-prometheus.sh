#!/usr/bin/env bash
# Prometheus and promtool from Debian's `prometheus` package, for the tests that check the
# alert rules (promtool) and evaluate every alert, dashboard and autoscaling query in a real
# Prometheus (tests/test_prometheus_live.py); nothing when both are installed.
exec bash "$(dirname "${BASH_SOURCE[0]}")/install-tools.sh" "prometheus promtool" prometheus
