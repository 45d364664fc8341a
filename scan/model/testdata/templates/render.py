#!/usr/bin/python3
"""Shows what the chat templates under honest/ and hostile/ do in Jinja2
(Debian's python3-jinja2), recorded in render.out:
    cd scan/model/testdata/templates && /usr/bin/python3 render.py > render.out

honest/: each renders in the environment transformers uses for chat
templates (ImmutableSandboxedEnvironment, trim_blocks, lstrip_blocks, loop
controls, raise_exception and strftime_now globals).
hostile/: each runs a shell command ("echo EXECUTED") when rendered by a
plain jinja2.Environment, as runtimes without a sandbox render them; the
sandbox refuses it.
"""
import datetime, glob, os, sys

import jinja2
from jinja2.ext import loopcontrols
from jinja2.sandbox import ImmutableSandboxedEnvironment

MESSAGES = [{"role": "system", "content": "Be brief."},
            {"role": "user", "content": "Hello there", "metadata": {"lang": "en"}},
            {"role": "assistant", "content": "Hi!", "tool_calls": [{"function": {"name": "lookup", "arguments": {"q": "x"}}}]},
            {"role": "user", "content": " "}]
DATA = dict(messages=MESSAGES, add_generation_prompt=True, bos_token="<s>", eos_token="</s>",
            tools=[{"type": "function", "function": {"name": "lookup"}}], date_string="01 Jan 2026")


def raise_exception(msg):
    raise jinja2.exceptions.TemplateError(msg)


def strftime_now(fmt):
    return datetime.datetime.now().strftime(fmt)


def transformers_env():
    env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True, extensions=[loopcontrols])
    env.globals["raise_exception"] = raise_exception
    env.globals["strftime_now"] = strftime_now
    return env


ok = True
print("jinja2", jinja2.__version__)
for path in sorted(glob.glob("honest/*.jinja")):
    src = open(path).read()
    out = transformers_env().from_string(src).render(**DATA)
    print(f"{path}: renders in the sandbox: {out!r}")
for path in sorted(glob.glob("hostile/*.jinja")):
    src = open(path).read()
    out = jinja2.Environment().from_string(src).render(**DATA)
    executed = "EXECUTED" in out
    ok = ok and executed
    try:
        transformers_env().from_string(src).render(**DATA)
        sandbox = "renders (!)"
        ok = False
    except jinja2.exceptions.SecurityError as e:
        sandbox = f"SecurityError: {e}"
    except Exception as e:  # undefined attributes end some chains earlier
        sandbox = f"{type(e).__name__}: {e}"
    print(f"{path}: plain Environment executed the command: {executed} ({out.strip()!r}); sandbox: {sandbox}")
sys.exit(0 if ok else 1)
