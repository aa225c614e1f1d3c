"""A local HubSpot-compatible server for the demo, the tests and the benchmarks."""
