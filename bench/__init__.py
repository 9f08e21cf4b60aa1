"""Benchmarks of the ILM system (issue 4): ``python -m bench all [--quick]``.

Every figure comes from a real run on this machine: the raw broker baseline (pika),
end-to-end grievance throughput through the services, the retaliation lane
against a FIFO backlog, RPC latency, service memory, and the remediation store at
scale. Results go to ``bench/results/latest.{json,md}`` and the table to stdout.
"""
