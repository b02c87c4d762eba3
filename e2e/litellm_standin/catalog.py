"""The models the stand-in serves: names, per-token prices and the mock reply.

Like LiteLLM's ``mock_response`` deployments, a call never reaches a provider and always reports
10 prompt and 20 completion tokens; its cost is those counts times the model's prices. A model
with no prices costs nothing, so budgets never bite on it (docs/litellm-api.md §8).
"""

from __future__ import annotations

from dataclasses import dataclass

MOCK_PROMPT_TOKENS = 10
MOCK_COMPLETION_TOKENS = 20


@dataclass(frozen=True)
class Model:
    name: str
    input_cost_per_token: float = 0.0
    output_cost_per_token: float = 0.0
    mock_response: str = "Hello from the mock model"

    @property
    def priced(self) -> bool:
        return self.input_cost_per_token > 0 or self.output_cost_per_token > 0

    def cost(self, prompt_tokens: int, completion_tokens: int) -> float:
        return (
            prompt_tokens * self.input_cost_per_token
            + completion_tokens * self.output_cost_per_token
        )


# The two priced mock models of ci/litellm-config.yaml; the proxy .ci/run starts serves them too.
DEFAULT_MODELS: tuple[Model, ...] = (
    Model("fake-gpt", 0.001, 0.002, "Hello from the mock model"),
    Model("fake-other", 0.001, 0.002, "Other mock"),
)


def parse_model_option(text: str) -> Model:
    """``NAME[:INPUT_COST[:OUTPUT_COST]]`` (per token, USD), for the command line."""
    name, _, prices = text.partition(":")
    if not name:
        raise ValueError(f"--model: expected NAME[:INPUT_COST[:OUTPUT_COST]], got {text!r}")
    input_cost, _, output_cost = prices.partition(":")
    try:
        return Model(name, float(input_cost or 0), float(output_cost or 0))
    except ValueError:
        raise ValueError(
            f"--model: prices must be numbers (USD per token), got {text!r}; "
            "expected NAME[:INPUT_COST[:OUTPUT_COST]]"
        ) from None
