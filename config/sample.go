package config

// Sample is a commented config file, printed by m1 --sample-config. It
// loads as it is once OPENAI_API_KEY is set.
const Sample = `# m1 model configuration (m1 --config FILE).
#
# Magentic-One's own config.yaml loads unchanged. Values may use ${VAR} or
# $VAR from the environment; write $$ for a literal $.
#
# Without --config, m1 reads $M1_CONFIG, else $XDG_CONFIG_HOME/m1/config.yaml
# (~/.config/m1/config.yaml) when it exists, else uses OPENAI_API_KEY,
# OPENAI_BASE_URL and M1_MODEL (default gpt-4o); --model overrides the
# model of every role. A key m1 does not know is an error naming the
# nearest one; allow_unknown_keys: true at the top makes it a warning.

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
    # What the model can do. Known models default from a table (gpt-4o,
    # gpt-4.1, gpt-5, o1, o3, o4 all true, except o1-mini and o3-mini
    # without vision; Claude, Gemini, Qwen-VL see images); other models to
    # function_calling and json_output only. Stated values win. What a
    # server refuses (json_schema, images, ...) is learnt at the first
    # refusal and stepped down for the session; m1 doctor --probe checks
    # it up front. context_window defaults to what the server says
    # (llama.cpp /props, Ollama /api/show, vLLM /models), else the table.
    model_info:
      vision: true
      function_calling: true
      json_output: true
      structured_output: true
      context_window: 128000
    # Seconds one unstreamed model call may take before it is abandoned
    # (--request-timeout overrides it; a timed-out call is asked again
    # once, as it may still be billed), and how many times a failed call
    # is retried. 429s are waited out for up to five minutes in all.
    timeout: 600
    max_retries: 5
    # Optional per-call settings, sent as they are:
    #   temperature: 0.2
    #   top_p: 0.9
    #   seed: 42
    #   reasoning_effort: medium        # o-series, gpt-5
    #   extra_body: {chat_template_kwargs: {enable_thinking: false}}
    # Every reply has a cap; the defaults (ledger 4096, text 4096, agent
    # 8192, final 8192, four times that for reasoning models) can be set
    # per kind of call, or for all with max_tokens / max_completion_tokens:
    #   max_tokens_per_call: {ledger: 2048, agent: 4096}
    # Servers whose templates need alternating roles (Gemma, Mistral) are
    # learnt at their first refusal; merge_roles: true does it at once.
  # Optional: US dollars per million tokens, to report the cost of a run.
  price:
    prompt_per_million: 2.5
    cached_prompt_per_million: 1.25
    completion_per_million: 10

# Optional: MCP servers join the team, each as an agent named after its
# key (--agents takes the names; "mcp" means all of them). A program m1
# starts (command, args, env, cwd) or a streamable HTTP endpoint (url,
# headers); timeout is the seconds one tool call may take (60),
# startup_timeout those starting the server may take (30).
#
# mcp_servers:
#   files:
#     command: npx
#     args: [-y, "@modelcontextprotocol/server-filesystem", /home/me/notes]
#   tracker:
#     url: https://mcp.example.com/mcp
#     headers:
#       Authorization: Bearer ${TRACKER_TOKEN}
#     timeout: 120

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
#     api_version: "2024-10-21"
#     api_key: ${AZURE_OPENAI_API_KEY}
#     # Or Entra ID instead of a key: azure_ad_token: ${TOKEN}, or
#     # AutoGen's provider, which m1 serves from the Azure CLI (az login):
#     # azure_ad_token_provider:
#     #   provider: autogen_ext.auth.azure.AzureTokenProvider
`
