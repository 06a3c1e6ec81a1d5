"""gmg-server over HTTP, as an OpenAI client uses it, against llama.cpp's goldens.

Starts the server on a free port with the real Gemma3-270M and checks:
  - /health, /v1/models;
  - a greedy chat completion: the Gemma chat template gives llama.cpp's prompt
    (its token count) and the generated ids are llama.cpp's greedy ids (the goldens,
    made by llama-cpp-python) until they end or llama.cpp's own top-2 margin was a
    near tie; the same request streamed (server-sent events) gives the same text,
    and its repetition reuses the cached prompt;
  - /v1/completions with a stop string: the text stops before it (finish_reason
    "stop") and is the unstopped completion's prefix; streamed with a stop string
    that spans tokens, the same text (its beginning is held back, never sent);
  - the same seed gives the same sampled text, request after request;
  - llama-server's own /tokenize (llama.cpp's ids), /detokenize and /completion
    (the same text as /v1/completions, streamed too);
  - bad requests (invalid JSON, no messages, an unknown role, a prompt longer than
    the context, streamed or not, a wrong type) get 400 with an OpenAI-style error body;
  - a second server on the same port fails with a clear message; SIGTERM stops it.
Usage: check_server.py GMG_SERVER MODEL GOLDEN_DIR
(GMG_SERVER_ARGS="-ngl 99", with GMG_GPU_EMULATE=1 or a GPU build, runs the same
checks on the offloaded model: 40 s on the emulated device, so not in CI.)
"""
import json
import os
import re
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

EPS_ABS = 1.0  # as check_goldens.py: a top-2 margin below this is a near tie


def start(server, model, *extra):
    # GMG_SERVER_ARGS: more options for the server (the GPU run passes -ngl 99)
    extra = (*extra, *os.environ.get("GMG_SERVER_ARGS", "").split())
    proc = subprocess.Popen([server, "-m", model, "--port", "0", "-c", "2048", "-t", "2", *extra],
                            stderr=subprocess.PIPE, text=True)
    line = proc.stderr.readline()
    m = re.search(r"listening on http://127\.0\.0\.1:(\d+)", line)
    assert m, f"no listening line from gmg-server: {line!r}"
    return proc, f"http://127.0.0.1:{m.group(1)}"


def call(base, path, body=None, raw=None):
    data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
    req = urllib.request.Request(base + path, data=data, headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=300) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


def events(text):
    """The data payloads of a server-sent event stream."""
    return [line[len("data: "):] for line in text.splitlines() if line.startswith("data: ")]


def main():
    server, model, golden = sys.argv[1], sys.argv[2], Path(sys.argv[3])
    chat_case = next(c for c in json.loads((golden / "greedy.json").read_text()) if c["name"] == "chat")
    user_text = chat_case["prompt"].split("user\n", 1)[1].split("<end_of_turn>", 1)[0]
    proc, base = start(server, model, "--alias", "gemma3-test")
    try:
        status, body = call(base, "/health")
        assert status == 200 and json.loads(body)["status"] == "ok", body
        status, body = call(base, "/v1/models")
        assert status == 200 and json.loads(body)["data"][0]["id"] == "gemma3-test", body

        request = {"model": "gemma3-test", "messages": [{"role": "user", "content": user_text}],
                   "temperature": 0, "max_tokens": 64, "return_tokens": True}
        status, body = call(base, "/v1/chat/completions", request)
        assert status == 200, body
        r = json.loads(body)
        assert r["object"] == "chat.completion" and r["choices"][0]["message"]["role"] == "assistant", body
        assert r["usage"]["prompt_tokens"] == len(chat_case["prompt_ids"]), \
            f"chat template: {r['usage']['prompt_tokens']} prompt tokens, llama.cpp had {len(chat_case['prompt_ids'])}"
        got, want = r["tokens"], chat_case["ids"]
        n_same = next((i for i, (a, b) in enumerate(zip(got, want)) if a != b), min(len(got), len(want)))
        ok = n_same == len(got) or (n_same < len(want) and chat_case["margins"][n_same] < EPS_ABS)
        print(f"chat completion: {n_same}/{len(got)} tokens equal to llama.cpp's greedy ids "
              f"({r['choices'][0]['finish_reason']}): {r['choices'][0]['message']['content'][:60]!r}")
        assert ok, f"the server's greedy ids leave llama.cpp's after {n_same} tokens: {got[:n_same + 3]} vs {want[:n_same + 3]}"
        assert r["usage"]["completion_tokens"] == len(got)

        status, body = call(base, "/v1/chat/completions", {**request, "stream": True})
        assert status == 200, body
        chunks = events(body)
        assert chunks[-1] == "[DONE]", chunks[-3:]
        parsed = [json.loads(c) for c in chunks[:-1]]
        assert parsed[0]["choices"][0]["delta"].get("role") == "assistant"
        streamed = "".join(p["choices"][0]["delta"].get("content", "") for p in parsed)
        assert streamed == r["choices"][0]["message"]["content"], f"stream {streamed!r} vs {r['choices'][0]['message']['content']!r}"
        assert parsed[-1]["choices"][0]["finish_reason"] == r["choices"][0]["finish_reason"]
        print(f"streamed: {len(parsed)} events, same text")
        status, body = call(base, "/v1/chat/completions", request)
        again = json.loads(body)
        assert again["usage"]["prompt_tokens_details"]["cached_tokens"] == len(chat_case["prompt_ids"]) - 1, body
        assert again["tokens"] == got, "the cached prompt changed the greedy completion"

        base_req = {"prompt": "The capital of France is", "temperature": 0, "max_tokens": 24}
        _, body = call(base, "/v1/completions", base_req)
        full = json.loads(body)["choices"][0]["text"]
        stop = full.split()[2]  # a word the unstopped text contains
        _, body = call(base, "/v1/completions", {**base_req, "stop": [stop, "never-there"]})
        stopped = json.loads(body)["choices"][0]
        assert stopped["finish_reason"] == "stop" and stop not in stopped["text"], stopped
        assert full.startswith(stopped["text"]), f"{stopped['text']!r} is not a prefix of {full!r}"
        print(f"stop string {stop!r}: {stopped['text']!r}")
        # A stop string across token boundaries: streaming must hold back its beginning.
        words = full.split()
        span = f"{words[2]} {words[3][:2]}"
        _, body = call(base, "/v1/completions", {**base_req, "stop": span})
        whole = json.loads(body)["choices"][0]["text"]
        _, body = call(base, "/v1/completions", {**base_req, "stop": span, "stream": True})
        streamed = "".join(json.loads(e)["choices"][0]["text"] for e in events(body)[:-1])
        assert streamed == whole and span not in whole, f"stop {span!r}: streamed {streamed!r}, whole {whole!r}"
        print(f"stop string {span!r} across tokens, streamed: {streamed!r}")

        # llama-server's own endpoints: /tokenize, /detokenize and /completion.
        capital = next(c for c in json.loads((golden / "greedy.json").read_text()) if c["name"] == "capital")
        _, body = call(base, "/tokenize", {"content": capital["prompt"], "add_special": True, "parse_special": False})
        assert json.loads(body)["tokens"] == capital["prompt_ids"], f"/tokenize: {body} vs llama.cpp's {capital['prompt_ids']}"
        _, body = call(base, "/detokenize", {"tokens": capital["prompt_ids"][1:]})
        assert json.loads(body)["content"] == capital["prompt"], body
        _, body = call(base, "/completion", {"prompt": capital["prompt"], "n_predict": 24, "temperature": 0})
        native = json.loads(body)
        assert native["content"] == full and native["stop"] is True and native["stop_type"] == "limit", body
        assert native["tokens_predicted"] == 24 and native["tokens_evaluated"] == len(capital["prompt_ids"]), body
        _, body = call(base, "/completion", {"prompt": capital["prompt"], "n_predict": 24, "temperature": 0, "stream": True})
        native_events = [json.loads(e) for e in events(body)]
        assert "".join(e["content"] for e in native_events) == full and native_events[-1]["stop"] is True, body[-300:]
        print(f"/tokenize = llama.cpp's ids; /completion (and streamed): {native['content']!r}")

        # The same seed, the same text, request after request on the one context.
        sampled = {"prompt": "Once upon a time", "temperature": 1.0, "max_tokens": 16, "seed": 7}
        texts = [json.loads(call(base, "/v1/completions", sampled)[1])["choices"][0]["text"] for _ in range(2)]
        assert texts[0] == texts[1], f"seed 7 gave {texts[0]!r}, then {texts[1]!r}"
        print(f"seed 7 twice: {texts[0]!r}")

        long_prompt = "word " * 3000
        for path, payload, words in [
            ("/v1/chat/completions", None, "JSON"),
            ("/v1/chat/completions", {"messages": []}, "messages"),
            ("/v1/chat/completions", {"messages": [{"role": "wizard", "content": "hi"}]}, "role"),
            ("/v1/chat/completions", {"messages": [{"role": "user", "content": "hi"}], "temperature": "hot"}, "temperature"),
            ("/v1/completions", {"prompt": long_prompt}, "context"),
            ("/v1/completions", {"prompt": long_prompt, "stream": True}, "context"),  # refused before the stream starts
        ]:
            status, body = call(base, path, payload, raw=b"{not json" if payload is None else None)
            err = json.loads(body)["error"]
            assert status == 400 and words in err["message"], f"{path} {str(payload)[:60]}: {status} {body[:200]}"
            print(f"400 as expected: {err['message']}")

        second = subprocess.run([server, "-m", model, "--port", base.rsplit(":", 1)[1]], capture_output=True, text=True, timeout=120)
        assert second.returncode != 0 and "cannot listen" in second.stderr, second.stderr
        print("a second server on the same port:", second.stderr.strip().splitlines()[-1])
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            code = proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            raise AssertionError("gmg-server did not stop on SIGTERM")
    assert code == 0, f"gmg-server exited with {code} on SIGTERM"
    print("gmg-server: all checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
