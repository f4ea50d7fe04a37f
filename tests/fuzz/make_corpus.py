#!/usr/bin/env python3
"""Writes the committed seed corpora of the fuzz harnesses: tests/fuzz/corpus/<target>/<label>.

Small valid files of each format and one or two of each rejection, so libFuzzer starts from
inputs that reach deep into the parsers. Rerun after editing; the output is deterministic.
"""
import json
import os
import shutil
import struct

HERE = os.path.dirname(os.path.abspath(__file__))


def safetensors(header, data=b"", pad=True):
    """8-byte little-endian length, the JSON header (space-padded to 8 like the writers), data."""
    text = header if isinstance(header, bytes) else json.dumps(header, separators=(",", ":")).encode()
    if pad:
        text += b" " * (-len(text) % 8)
    return struct.pack("<Q", len(text)) + text + data


def entry(dtype, shape, begin, end):
    return {"dtype": dtype, "shape": shape, "data_offsets": [begin, end]}


def safetensors_seeds():
    seeds = {
        "valid_one_f32": safetensors({"w": entry("F32", [2], 0, 8)}, b"\0" * 8),
        "valid_metadata": safetensors(
            {"__metadata__": {"format": "pt"}, "w": entry("BF16", [2, 2], 0, 8)}, b"\0" * 8),
        "valid_three_dtypes": safetensors(
            {"a": entry("F64", [1], 0, 8), "b": entry("F16", [2, 1], 8, 12),
             "c": entry("U8", [3], 12, 15)}, b"\0" * 15),
        "valid_rank0_and_empty": safetensors(
            {"s": entry("I64", [], 0, 8), "e": entry("F32", [0, 4], 8, 8)}, b"\0" * 8),
        "valid_subbyte": safetensors(
            {"f4": entry("F4", [2, 3], 0, 3), "f6": entry("F6_E2M3", [4], 3, 6),
             "f8": entry("F8_E4M3", [2], 6, 8)}, b"\0" * 8),
        "valid_unpadded": safetensors({"x": entry("BOOL", [1], 0, 1)}, b"\1", pad=False),
        "bad_overlap": safetensors(
            {"a": entry("F32", [2], 0, 8), "b": entry("F32", [1], 4, 8)}, b"\0" * 8),
        "bad_hole": safetensors({"a": entry("F32", [1], 4, 8)}, b"\0" * 8),
        "bad_trailing": safetensors({"a": entry("F32", [1], 0, 4)}, b"\0" * 5),
        "bad_size_mismatch": safetensors({"a": entry("F32", [3], 0, 8)}, b"\0" * 8),
        "bad_dtype": safetensors({"a": entry("F128", [1], 0, 16)}, b"\0" * 16),
        "bad_subbyte": safetensors({"a": entry("F6_E3M2", [1], 0, 1)}, b"\0"),
        "bad_duplicate": safetensors(b'{"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1]},'
                                     b'"a":{"dtype":"U8","shape":[1],"data_offsets":[1,2]}}', b"\0\0"),
        "bad_metadata": safetensors({"__metadata__": {"format": 1}}),
        "bad_utf8": safetensors(b'{"\xff":{}}'),
        "bad_deep": safetensors(b'{"a":{"dtype":"U8","shape":' + b"[" * 70 + b"]" * 70 +
                                b',"data_offsets":[0,1]}}', b"\0"),
        "bad_header_len": struct.pack("<Q", 2**63) + b"{}",
        "bad_short": b"\x02\0\0\0",
    }
    return seeds


def index_seeds():
    def j(obj):
        return json.dumps(obj).encode()
    return {
        "valid_two_shards": j({"metadata": {"total_size": 24}, "weight_map": {
            "model.embed.weight": "model-00001-of-00002.safetensors",
            "model.layers.0.w": "model-00001-of-00002.safetensors",
            "lm_head.weight": "model-00002-of-00002.safetensors"}}),
        "valid_no_metadata": j({"weight_map": {"a": "model.safetensors"}}),
        "valid_extra_fields": j({"metadata": {"total_size": 8.0, "format": "pt"},
                                 "weight_map": {"a": "s1.safetensors", "b": "s1.safetensors"}}),
        "bad_path": j({"weight_map": {"a": "../model.safetensors"}}),
        "bad_dotdot": j({"weight_map": {"a": ".."}}),
        "bad_empty": j({"weight_map": {}}),
        "bad_value": j({"weight_map": {"a": 1}}),
        "bad_total_size": j({"metadata": {"total_size": "8"}, "weight_map": {"a": "s.safetensors"}}),
        "bad_duplicate": b'{"weight_map":{"a":"s.safetensors","a":"t.safetensors"}}',
        "bad_array": b"[]",
        "bad_deep": b'{"weight_map":' + b"[" * 70 + b"]" * 70 + b"}",
    }


def lora_seeds():
    def j(obj):
        return json.dumps(obj).encode()
    peft = {
        "alpha_pattern": {}, "auto_mapping": None, "base_model_name_or_path": "gpt2", "bias": "none",
        "fan_in_fan_out": True, "inference_mode": True, "init_lora_weights": True,
        "layers_pattern": None, "layers_to_transform": None, "lora_alpha": 32, "lora_dropout": 0.05,
        "modules_to_save": None, "peft_type": "LORA", "r": 8, "rank_pattern": {}, "revision": None,
        "target_modules": ["c_attn", "c_proj"], "task_type": "CAUSAL_LM", "use_dora": False,
        "use_rslora": False}
    patterns = {"r": 8, "lora_alpha": 16, "use_rslora": True,
                "rank_pattern": {"q_proj": 4, r"layers\.0\..*": 2, "h.11.attn.c_attn": 16},
                "alpha_pattern": {"embed_tokens": 8.5, "(q|v)_proj": 4}}
    modules = b"\0model.layers.0.self_attn.q_proj\ntransformer.h.11.attn.c_attn\nlayers.0.mlp\n"
    return {
        "valid_minimal": j({"r": 4, "lora_alpha": 8}),
        "valid_peft_gpt2": j(peft),
        "valid_patterns": j(patterns),
        "valid_patterns_modules": j(patterns) + modules,
        "bad_dora": j({"r": 4, "lora_alpha": 8, "use_dora": True}),
        "bad_peft_type": j({"r": 4, "lora_alpha": 8, "peft_type": "IA3"}),
        "bad_init_pissa": j({"r": 4, "lora_alpha": 8, "init_lora_weights": "pissa_niter_4"}),
        "bad_unknown_field": j({"r": 4, "lora_alpha": 8, "new_field": 1}),
        "bad_rank": j({"r": 0, "lora_alpha": 8}),
        "bad_pattern_regex": j({"r": 4, "lora_alpha": 8, "rank_pattern": {"((": 2}}),
        "bad_pattern_value": j({"r": 4, "lora_alpha": 8, "alpha_pattern": {"q": "x"}}),
        "bad_duplicate": b'{"r":4,"r":8,"lora_alpha":8}',
        "bad_deep": b'{"r":4,"lora_alpha":8,"peft_type":' + b"[" * 70 + b"]" * 70 + b"}",
    }


def state_seeds():
    """The "fwmerge.state" JSON of fw_solver_state_save (lib/solver/state_json.cpp), valid and not."""
    def j(obj):
        return json.dumps(obj, separators=(",", ":")).encode()

    def step(t, chosen, lambdas, k=1, converged=False):
        return {"t": t, "loss": 0.5, "loss_after": None, "gap": 0.25, "gamma": 0.5,
                "converged": converged, "evaluations": 3, "k": k, "chosen": chosen,
                "lambdas": lambdas, "leaves_hull": False}

    def state(**changes):
        s = {"version": 1, "library": "0.3.0",
             "base": {"path": "base.safetensors", "identity": "504:410ebc3f8df0b151:0"},
             "pool": [{"path": "m0.safetensors", "identity": "504:1:2"},
                      {"path": "m1.safetensors", "identity": "504:3:4"}],
             "start": {"kind": "base", "member": -1, "description": "base"},
             "blocks": ["layer0.weight", "layer0.bias"],
             "merge_fn": {"kind": "convex"},
             "history": [step(0, [0, 1], [0.5, 0.5]), step(1, [1, -1], [0.2, 0.2])]}
        s.update(changes)
        return s

    return {
        "valid_hard": j(state()),
        "valid_soft": j(state(history=[step(0, [0, 1, -1, 0], [0.3, 0.1, 0.2, 0.4], k=2)])),
        "valid_member_start": j(state(start={"kind": "member", "member": 1, "description": "m"})),
        "valid_file_start": j(state(start={"kind": "file", "member": -1, "description": "f",
                                           "file": {"path": "s.safetensors", "identity": "1"}})),
        "valid_converged": j(state(history=[step(0, [0, 1], [0, 0], converged=True)])),
        "bad_version": j(state(version=2)),
        "bad_kind": j(state(start={"kind": "other", "member": -1, "description": ""})),
        "bad_chosen": j(state(history=[step(0, [0, 5], [0.5, 0.5])])),
        "bad_blocks_k": j(state(history=[step(0, [0], [0.5])])),
        "bad_order": j(state(history=[step(1, [0, 1], [0.5, 0.5])])),
        "bad_after_converged": j(state(history=[step(0, [0, 1], [0, 0], converged=True),
                                                step(1, [0, 1], [0, 0])])),
        "bad_types": b'{"version":1,"base":3}',
        "bad_duplicate": b'{"version":1,"version":1}',
    }


def recipe_seeds():
    """fuzz_recipe: a selector byte (odd: FW recipe; even: mergekit recipe, 2: mergekit
    arithmetic) and the YAML text, from the shapes the CLI tests use."""
    ties = (b"merge_method: ties\nbase_model: base\nmodels:\n  - model: a\n"
            b"    parameters: {weight: 2, density: 0.5}\n  - model: b\n    parameters:\n"
            b"      density: 0.7\n  - model: base\nparameters:\n  weight: 0.25\n"
            b"  normalize: false\n  lambda: 0.5\ndtype: bfloat16\nout_dtype: float32\n")
    gradient = (b"merge_method: task_arithmetic\nbase_model: base\nmodels:\n  - model: a\n"
                b"    parameters:\n      weight: [0, 0.5, 1]\n  - model: b\n    parameters:\n"
                b"      weight:\n        - filter: self_attn\n          value: 0.3\n"
                b"        - value: 1\nparameters: {lambda: 1.5}\nfill_missing_from_base: true\n")
    breadcrumbs = (b"merge_method: breadcrumbs_ties\nbase_model: base\nmodels:\n"
                   b"  - model: a\n    parameters: {weight: 1, density: 0.9, gamma: 0.02}\n"
                   b"  - model: b\n    parameters: {weight: 1, density: 0.8, gamma: 0.01}\n")
    dare = (b"merge_method: dare_ties\nbase_model: base\nmodels:\n  - model: a\n"
            b"    parameters: {weight: 1, density: 0.3}\nparameters: {rescale: true, int8_mask: true}\n")
    stock = (b"merge_method: model_stock\nbase_model: base\nmodels:\n  - model: a\n"
             b"  - model: b\n  - model: c\n")
    linear = (b"merge_method: linear\nmodels:\n  - model: a\n    parameters: {weight: 1}\n"
              b"  - model: b\n    parameters: {weight: 3}\n")
    bomb = (b"a: &a [x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a]\n"
            b"c: &c [*b, *b, *b, *b, *b, *b, *b, *b]\nmerge_method: linear\nmodels: [*c]\n")
    deep = b"merge_method: linear\nmodels: " + b"[" * 200 + b"]" * 200 + b"\n"
    fw = (b"base_model: base\nmodels: [a, b]\nobjective:\n  module: net.pt\n"
          b"  calibration: calib.safetensors\n  terms:\n    - {inputs: x, labels: y}\n"
          b"    - {method: doubled, inputs: x2, weight: 0.5}\n"
          b"  param_map: {fc.weight: w, fc.bias: b}\n"
          b"parameters:\n  lmo: soft\n  granularity: layer\n  block_depth: 2\n  top_k: 3\n"
          b"  step_rule: schedule\n  soft_solver: adam\n  max_evaluations: 40\n"
          b"  include_tensors: ['fc.*']\n  fill_missing_from_base: true\n"
          b"start: {merge: {method: task_arithmetic, scaling: 0.4}}\n"
          b"merge_function: {method: ties, density: 0.3, normalize: false}\nout_dtype: float16\n")
    fw_member = (b"base_model: base\nmodels: [a, b]\nobjective:\n  module: net.pt\n"
                 b"  calibration: c.safetensors\n  terms: [{inputs: x}]\nstart: {member: 1}\n")
    return {
        "mergekit_ties": b"\x00" + ties,
        "mergekit_ties_compat": b"\x02" + ties,
        "mergekit_gradient": b"\x02" + gradient,
        "mergekit_breadcrumbs": b"\x00" + breadcrumbs,
        "mergekit_dare": b"\x02" + dare,
        "mergekit_model_stock": b"\x00" + stock,
        "mergekit_linear": b"\x00" + linear,
        "bad_alias_bomb": b"\x00" + bomb,
        "bad_deep": b"\x00" + deep,
        "bad_slices": b"\x00merge_method: passthrough\nslices: []\n",
        "fw_full": b"\x01" + fw,
        "fw_start_member": b"\x01" + fw_member,
        "bad_fw_tag": b"\x01base_model: !!binary aGk=\nmodels: [a]\n",
    }


def main():
    for target, seeds in (("fuzz_safetensors", safetensors_seeds()),
                          ("fuzz_hf_index", index_seeds()),
                          ("fuzz_lora_config", lora_seeds()),
                          ("fuzz_state", state_seeds()),
                          ("fuzz_recipe", recipe_seeds())):
        out = os.path.join(HERE, "corpus", target)
        shutil.rmtree(out, ignore_errors=True)
        os.makedirs(out)
        for label, data in seeds.items():
            with open(os.path.join(out, label), "wb") as f:
                f.write(data)
        print(f"{target}: {len(seeds)} seeds")


if __name__ == "__main__":
    main()
