"""The DSP 2025-1 HTTPS binding, served under ``/dsp`` on the main port."""

__all__: list[str] = []
