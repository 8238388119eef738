"""Operations shell: dashboard, health probes, metrics, the jobs heartbeat, demo and worker CLI
(R-OPS-3, R-OPS-8)."""
