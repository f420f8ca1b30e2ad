"""PXL operator: runs fleets of PXL prover pods on Kubernetes (kopf)."""
