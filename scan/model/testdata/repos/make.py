#!/usr/bin/python3
"""Writes the honest model repositories the scan/model tests scan.

Made with Debian's tools (python3-sentencepiece, python3-torch), run as
    /usr/bin/python3 scan/model/testdata/repos/make.py scan/model/testdata/repos
Debian has no transformers, tokenizers or safetensors: tokenizer.json, shard
indexes, adapter files and safetensors files are written by hand here, in
the layouts those libraries write.
"""
import io, json, os, random, shutil, struct, sys, zlib

import numpy
import sentencepiece as spm
import torch

OUT = sys.argv[1]
random.seed(23)
numpy.random.seed(23)
torch.manual_seed(23)

CHATML = ("{% for message in messages %}{{'<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n'}}"
          "{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}")
TOOL_USE = ("{%- set ns = namespace(sys='') -%}{%- for m in messages if m.role == 'system' -%}{%- set ns.sys = m.content -%}{%- endfor -%}"
            "{{- bos_token -}}{%- if tools %}{{- '<tools>' }}{%- for tool in tools %}{{- tool | tojson }}{%- endfor %}{{- '</tools>\\n' }}{%- endif %}"
            "{%- for m in messages if m.role != 'system' %}{%- if loop.index0 > 64 %}{%- break %}{%- endif %}"
            "{{- '[' ~ m.role | upper ~ '] ' ~ m.content | trim ~ '\\n' }}{%- endfor %}")
LLAMA = open(os.path.join(os.path.dirname(__file__), "..", "templates", "honest", "llama31.jinja")).read()


def repo(name):
    d = os.path.join(OUT, name)
    shutil.rmtree(d, ignore_errors=True)
    os.makedirs(d)
    return d


def write(d, name, data):
    p = os.path.join(d, name)
    os.makedirs(os.path.dirname(p), exist_ok=True)
    with open(p, "wb" if isinstance(data, bytes) else "w") as f:
        f.write(data)


def jdump(d, name, obj):
    write(d, name, json.dumps(obj, indent=2, sort_keys=False) + "\n")


def safetensors(tensors, metadata=None):
    """The safetensors layout: 8-byte LE header length, JSON header padded
    with spaces to 8 bytes, tensor data back to back in header order."""
    header, data = {}, b""
    if metadata:
        header["__metadata__"] = metadata
    for name in sorted(tensors):
        shape = tensors[name]
        n = 1
        for s in shape:
            n *= s
        raw = struct.pack("<%df" % n, *[random.uniform(-1, 1) for _ in range(n)])
        header[name] = {"dtype": "F32", "shape": shape, "data_offsets": [len(data), len(data) + len(raw)]}
        data += raw
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * (-len(h) % 8)
    return struct.pack("<Q", len(h)) + h + data


def png(w, h):
    raw = b"".join(b"\x00" + bytes(v for x in range(w) for v in (x * 255 // w, y * 255 // h, 128)) for y in range(h))
    def chunk(t, b):
        return struct.pack(">I", len(b)) + t + b + struct.pack(">I", zlib.crc32(t + b))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0)) +
            chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))


def card(d, title):
    write(d, "README.md", f"---\nlicense: apache-2.0\nlibrary_name: transformers\n---\n\n# {title}\n\nA test fixture of mlattest: "
          "tiny random weights in the layout a Hugging Face repository uses.\n\n## Usage\n\n```python\nfrom transformers import AutoModel\n"
          f"model = AutoModel.from_pretrained(\"./{os.path.basename(d)}\")\n```\n")
    write(d, "LICENSE", "Apache License\nVersion 2.0, January 2004\nhttp://www.apache.org/licenses/\n\n"
          "Licensed under the Apache License, Version 2.0 (the \"License\").\n")
    write(d, ".gitattributes", "*.bin filter=lfs diff=lfs merge=lfs -text\n*.safetensors filter=lfs diff=lfs merge=lfs -text\n"
          "*.model filter=lfs diff=lfs merge=lfs -text\n*.png filter=lfs diff=lfs merge=lfs -text\n")


def bpe_tokenizer():
    vocab = {c: i for i, c in enumerate(["<|endoftext|>", "<|im_start|>", "<|im_end|>"] + list("abcdefghijklmnopqrstuvwxyz") + ["Ġ", "th", "the", "Ġthe"])}
    return {"version": "1.0", "truncation": None, "padding": None,
            "added_tokens": [{"id": i, "content": t, "single_word": False, "lstrip": False, "rstrip": False, "normalized": False, "special": True}
                             for i, t in enumerate(["<|endoftext|>", "<|im_start|>", "<|im_end|>"])],
            "normalizer": None, "pre_tokenizer": {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True, "use_regex": True},
            "post_processor": None, "decoder": {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": True, "use_regex": True},
            "model": {"type": "BPE", "dropout": None, "unk_token": None, "continuing_subword_prefix": None, "end_of_word_suffix": None,
                      "fuse_unk": False, "byte_fallback": False, "vocab": vocab, "merges": ["t h", "th e", "Ġ the"]}}


def causal_lm():
    d = repo("causal-lm-sharded")
    shards = {"model-00001-of-00002.safetensors": {"model.embed_tokens.weight": [33, 8], "model.layers.0.mlp.up_proj.weight": [16, 8]},
              "model-00002-of-00002.safetensors": {"model.layers.0.mlp.down_proj.weight": [8, 16], "lm_head.weight": [33, 8]}}
    weight_map, total = {}, 0
    for f, ts in shards.items():
        write(d, f, safetensors(ts, {"format": "pt"}))
        for t, s in ts.items():
            weight_map[t] = f
            total += 4 * s[0] * s[1]
    jdump(d, "model.safetensors.index.json", {"metadata": {"total_size": total}, "weight_map": dict(sorted(weight_map.items()))})
    jdump(d, "config.json", {"architectures": ["Qwen2ForCausalLM"], "model_type": "qwen2", "hidden_size": 8, "intermediate_size": 16,
                             "num_hidden_layers": 1, "vocab_size": 33, "torch_dtype": "float32", "rope_theta": 1000000.0, "tie_word_embeddings": False})
    jdump(d, "generation_config.json", {"bos_token_id": 0, "eos_token_id": [0, 2], "do_sample": True, "temperature": 0.7, "top_p": 0.8})
    jdump(d, "tokenizer.json", bpe_tokenizer())
    jdump(d, "tokenizer_config.json", {"add_prefix_space": False, "bos_token": None, "eos_token": "<|im_end|>", "pad_token": "<|endoftext|>",
                                       "model_max_length": 32768, "tokenizer_class": "Qwen2Tokenizer", "chat_template": CHATML,
                                       "split_special_tokens": False})
    jdump(d, "special_tokens_map.json", {"eos_token": {"content": "<|im_end|>", "lstrip": False, "normalized": False, "rstrip": False, "single_word": False},
                                         "pad_token": "<|endoftext|>", "additional_special_tokens": ["<|im_start|>", "<|im_end|>"]})
    jdump(d, "vocab.json", bpe_tokenizer()["model"]["vocab"])
    write(d, "merges.txt", "#version: 0.2\nt h\nth e\nĠ the\n")
    card(d, "Tiny sharded causal LM")


def gpt2():
    d = repo("gpt2-bpe")
    sd = {"transformer.wte.weight": torch.randn(33, 8), "transformer.h.0.attn.c_attn.weight": torch.randn(8, 24),
          "transformer.h.0.attn.c_attn.bias": torch.zeros(24), "lm_head.weight": torch.randn(33, 8)}
    torch.save(sd, os.path.join(d, "pytorch_model.bin"))
    jdump(d, "config.json", {"architectures": ["GPT2LMHeadModel"], "model_type": "gpt2", "n_embd": 8, "n_head": 2, "n_layer": 1,
                             "vocab_size": 33, "activation_function": "gelu_new", "layer_norm_epsilon": 1e-05,
                             "task_specific_params": {"text-generation": {"do_sample": True, "max_length": 50}}})
    jdump(d, "generation_config.json", {"bos_token_id": 0, "eos_token_id": 0})
    jdump(d, "vocab.json", bpe_tokenizer()["model"]["vocab"])
    write(d, "merges.txt", "#version: 0.2\nt h\nth e\nĠ the\n")
    jdump(d, "tokenizer_config.json", {"model_max_length": 1024, "tokenizer_class": "GPT2Tokenizer", "bos_token": "<|endoftext|>",
                                       "eos_token": "<|endoftext|>", "unk_token": "<|endoftext|>", "add_prefix_space": False})
    card(d, "Tiny GPT-2")


def bert():
    d = repo("bert-vocab-image")
    write(d, "model.safetensors", safetensors({"bert.embeddings.word_embeddings.weight": [40, 8], "bert.pooler.dense.weight": [8, 8],
                                               "bert.pooler.dense.bias": [8]}))
    jdump(d, "config.json", {"architectures": ["BertForMaskedLM"], "model_type": "bert", "hidden_size": 8, "vocab_size": 40,
                             "num_attention_heads": 2, "num_hidden_layers": 1, "layer_norm_eps": 1e-12, "pad_token_id": 0})
    write(d, "vocab.txt", "".join(t + "\n" for t in ["[PAD]", "[unused0]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"] + list("abcdefghijklmnopqrstuvwxyz") +
                                                     ["##s", "##ing", "the", "é", "日本", "##ed", "!", "?"]))
    jdump(d, "tokenizer_config.json", {"do_lower_case": True, "model_max_length": 512, "tokenizer_class": "BertTokenizer", "unk_token": "[UNK]",
                                       "sep_token": "[SEP]", "pad_token": "[PAD]", "cls_token": "[CLS]", "mask_token": "[MASK]"})
    jdump(d, "special_tokens_map.json", {"unk_token": "[UNK]", "sep_token": "[SEP]", "pad_token": "[PAD]", "cls_token": "[CLS]", "mask_token": "[MASK]"})
    write(d, "images/architecture.png", png(24, 16))
    card(d, "Tiny BERT")
    with open(os.path.join(d, "README.md"), "a") as f:
        f.write("\n![architecture](images/architecture.png)\n")


def lora():
    d = repo("lora-adapter")
    write(d, "adapter_model.safetensors", safetensors({"base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight": [4, 8],
                                                       "base_model.model.model.layers.0.self_attn.q_proj.lora_B.weight": [8, 4],
                                                       "base_model.model.model.layers.0.self_attn.v_proj.lora_A.weight": [4, 8],
                                                       "base_model.model.model.layers.0.self_attn.v_proj.lora_B.weight": [8, 4]},
                                                      {"format": "pt"}))
    jdump(d, "adapter_config.json", {"alpha_pattern": {}, "base_model_name_or_path": "example/tiny-llama", "bias": "none", "fan_in_fan_out": False,
                                     "inference_mode": True, "lora_alpha": 16, "lora_dropout": 0.05, "peft_type": "LORA", "r": 4,
                                     "target_modules": ["q_proj", "v_proj"], "task_type": "CAUSAL_LM", "use_rslora": False})
    corpus = io.StringIO()
    words = ["model", "adapter", "token", "the", "a", "training", "data", "safe", "scan", "file", "weights", "chat"]
    sentences = [" ".join(random.choice(words) for _ in range(8)) for _ in range(400)]
    model = io.BytesIO()
    spm.SentencePieceTrainer.train(sentence_iterator=iter(sentences), model_writer=model, vocab_size=60, model_type="bpe",
                                   num_threads=1, byte_fallback=False, character_coverage=1.0, bos_id=1, eos_id=2, unk_id=0)
    write(d, "tokenizer.model", model.getvalue())
    sp = spm.SentencePieceProcessor(model_proto=model.getvalue())
    assert sp.get_piece_size() == 60
    jdump(d, "tokenizer_config.json", {"add_bos_token": True, "add_eos_token": False, "bos_token": "<s>", "eos_token": "</s>", "unk_token": "<unk>",
                                       "legacy": False, "tokenizer_class": "LlamaTokenizer",
                                       "chat_template": [{"name": "default", "template": CHATML}, {"name": "tool_use", "template": TOOL_USE}]})
    write(d, "chat_template.jinja", LLAMA)
    card(d, "Tiny LoRA adapter")


def trainer():
    d = repo("trainer-checkpoint")
    c = os.path.join(d, "checkpoint-500")
    os.makedirs(c)
    params = [torch.nn.Parameter(torch.randn(8, 8)), torch.nn.Parameter(torch.randn(8))]
    opt = torch.optim.AdamW(params, lr=1e-3)
    params[0].sum().backward()
    params[1].sum().backward()
    opt.step()
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda step: 1.0)
    sched.step()
    torch.save(opt.state_dict(), os.path.join(c, "optimizer.pt"))
    sd = sched.state_dict()
    sd.pop("lr_lambdas", None)  # transformers' schedulers save [None] here
    sd["lr_lambdas"] = [None]
    torch.save(sd, os.path.join(c, "scheduler.pt"))
    rng = {"python": random.getstate(), "numpy": numpy.random.get_state(), "cpu": torch.random.get_rng_state()}
    torch.save(rng, os.path.join(c, "rng_state.pth"))
    write(c, "model.safetensors", safetensors({"linear.weight": [8, 8], "linear.bias": [8]}))
    jdump(c, "config.json", {"architectures": ["TinyForSequenceClassification"], "model_type": "tiny", "hidden_size": 8})
    state = {"best_metric": None, "best_model_checkpoint": None, "epoch": 1.0, "global_step": 500, "is_hyper_param_search": False,
             "log_history": [{"epoch": 0.5, "grad_norm": float("nan"), "learning_rate": 1e-3, "loss": float("inf"), "step": 250},
                             {"epoch": 1.0, "eval_loss": 0.25, "step": 500}],
             "max_steps": 500, "num_train_epochs": 1, "total_flos": 12345.0, "trial_name": None, "trial_params": None}
    write(c, "trainer_state.json", json.dumps(state, indent=2) + "\n")
    card(d, "Tiny trainer checkpoint")


causal_lm()
gpt2()
bert()
lora()
trainer()
