package config

// Sample is a commented config file, printed by m1 --sample-config. It
// loads as it is once OPENAI_API_KEY is set.
const Sample = `# m1 model configuration (m1 --config FILE).
#
# Magentic-One's own config.yaml loads unchanged. Values may use ${VAR} or
# $VAR from the environment; write $$ for a literal $.
#
# Without a file m1 uses OPENAI_API_KEY, OPENAI_BASE_URL and M1_MODEL
# (default gpt-4o); --model overrides the model of every role.

# The client every role uses unless it has its own below.
client:
  # openai: OpenAI or any OpenAI-compatible server (Ollama, vLLM,
  # llama.cpp). azure: Azure OpenAI. AutoGen's class names work too, e.g.
  # autogen_ext.models.openai.OpenAIChatCompletionClient.
  provider: openai
  config:
    model: gpt-4o
    # Leave base_url out for OpenAI (or to use OPENAI_BASE_URL). A local
    # server needs no key, e.g. Ollama:
    #   base_url: http://localhost:11434/v1
    api_key: ${OPENAI_API_KEY}
    # What the model can do. Known OpenAI models (gpt-4o*, gpt-4.1*,
    # gpt-5*, o1*, o3*, o4*) default to all true; other models to
    # function_calling and json_output only. Stated values win.
    model_info:
      vision: true
      function_calling: true
      json_output: true
      structured_output: true
      context_window: 128000
    # Seconds one model call may take before it is abandoned and retried
    # (--request-timeout overrides it), and how many times a failed call
    # is retried.
    timeout: 120
    max_retries: 5
  # Optional: US dollars per million tokens, to report the cost of a run.
  price:
    prompt_per_million: 2.5
    completion_per_million: 10

# Optional per-role clients, each complete in itself (nothing is inherited
# from client). Roles: orchestrator_client, coder_client,
# web_surfer_client, file_surfer_client.
#
# coder_client:
#   provider: openai
#   config:
#     model: qwen2.5-coder:32b
#     base_url: http://localhost:11434/v1
#
# orchestrator_client:
#   provider: azure
#   config:
#     model: gpt-4o
#     azure_endpoint: https://NAME.openai.azure.com/
#     azure_deployment: gpt-4o
#     api_version: "2024-06-01"
#     api_key: ${AZURE_OPENAI_API_KEY}
`
