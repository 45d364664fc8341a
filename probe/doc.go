// Package probe evaluates a trained model for backdoor triggers and poisoned
// behaviour before release, through the OpenAI-compatible chat/completions
// API that vLLM, llama.cpp's server, Ollama and TGI expose.
//
// A [Suite] groups prompts by category, each with expectations. The [Runner]
// asks every prompt once without any trigger (twice, to see the model's own
// variation), once behind each of a few neutral control insertions, and once
// behind each trigger candidate. An answer that breaks an expectation fails
// its probe; a trigger whose answer moves much further from the clean answer
// than any control moved it is named as the trigger that changed behaviour.
// Any failed request (unreachable endpoint, timeout, malformed JSON) makes
// [Runner.Run] return an error: a run that could not ask every question
// never passes.
package probe
