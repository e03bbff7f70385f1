"""The (context, continuation) requests lm-evaluation-harness builds for the fixtures of tests/eval/fixtures.

    /usr/bin/python3 tests/reference/harness_prompts.py > tests/eval/fixtures/harness_requests.json

The functions below are the harness's own task code, transcribed from EleutherAI/lm-evaluation-harness at the
commits tools/tasks/README.md lists (doc_to_text, doc_to_target, construct_requests, _convert_standard /
_collate_data / partial_context, base.py's fewshot_context), kept in Python so that Python's string semantics
(str.capitalize, slicing by code points, rsplit, strip, re.sub) are the harness's exactly. `to_harness_doc`
stands in for the Hugging Face `datasets` loaders, turning a fixture line in an original release's layout into
the record the harness would be given. The output is committed; tests/eval/task_prompts_test.cpp compares
mtnlg's requests with it byte for byte.
"""

import collections
import json
import os
import re
import sys

FIXTURES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "eval", "fixtures")
TASKS = ["lambada", "boolq", "race", "piqa", "hellaswag", "winogrande", "anli", "hans", "wic"]


def yesno(x):  # lm_eval/tasks/common.py
    return "yes" if x else "no"


# --- lambada.py (f8a30e2c) -------------------------------------------------------------------------------------
class Lambada:
    def doc_to_text(self, doc):
        return doc["text"].rsplit(" ", 1)[0]

    def doc_to_target(self, doc):
        return " " + doc["text"].rsplit(" ", 1)[1]

    def construct_requests(self, doc, ctx):
        return [(ctx, self.doc_to_target(doc))]


# --- superglue.py BoolQ, WordsInContext (986a7df8) ------------------------------------------------------------
class BoolQ:
    def doc_to_text(self, doc):
        return f"{doc['passage']}\nQuestion: {doc['question']}\nAnswer:"

    def doc_to_target(self, doc):
        return " " + yesno(doc["label"])

    def construct_requests(self, doc, ctx):
        return [(ctx, " yes"), (ctx, " no")]


class WordsInContext:
    def doc_to_text(self, doc):
        return (
            "Sentence 1: {}\nSentence 2: {}\nQuestion: Is the word '{}' used in the same way in the"
            " two sentences above?\nAnswer:".format(
                doc["sentence1"],
                doc["sentence2"],
                doc["sentence1"][doc["start1"]: doc["end1"]],
            )
        )

    def doc_to_target(self, doc):
        return " {}".format({0: "no", 1: "yes"}[doc["label"]])

    def construct_requests(self, doc, ctx):
        return [(ctx, " yes"), (ctx, " no")]


# --- race.py (4d147bdd) -------------------------------------------------------------------------------------------
class RACE:
    letter_to_num = {"A": 0, "B": 1, "C": 2, "D": 3}

    @classmethod
    def collate(cls, items):  # _collate_data without the datasets call
        r = collections.defaultdict(list)
        for item in items:
            r[item["article"]].append(item)
        return [
            {
                "article": x[0]["article"],
                "problems": [{"question": y["question"], "answer": y["answer"], "options": y["options"]} for y in x],
            }
            for x in r.values()
        ]

    @classmethod
    def get_answer_option(cls, problem):
        answer = cls.letter_to_num[problem["answer"]]
        return problem["options"][answer]

    @classmethod
    def last_problem(cls, doc):
        return doc["problems"][-1]

    def doc_to_text(self, doc):
        text = "Article: " + doc["article"] + "\n\n"
        for problem in doc["problems"][:-1]:
            if problem["question"][-6:] == "  _  .":
                text += problem["question"][-5:] + self.get_answer_option(problem) + "\n"
            else:
                question = "Question: " + problem["question"] + "\n"
                answer = "Answer: " + self.get_answer_option(problem) + "\n"
                text += question + answer
        text += self.last_problem(doc)["question"]
        return text

    def doc_to_target(self, doc):
        return " " + self.get_answer_option(self.last_problem(doc))

    def construct_requests(self, doc, ctx):
        problem = self.last_problem(doc)
        return [(ctx, " " + problem["options"][i]) for i in range(4)]


# --- base.py MultipleChoiceTask (1f8a8c1d) with piqa.py (4d147bdd) and hellaswag.py (44341706) -----------------
class MultipleChoiceTask:
    def doc_to_target(self, doc):
        return " " + doc["choices"][doc["gold"]]

    def construct_requests(self, doc, ctx):
        return [(ctx, " {}".format(choice)) for choice in doc["choices"]]


class PiQA(MultipleChoiceTask):
    def _convert_standard(self, doc):
        return {"goal": doc["goal"], "choices": [doc["sol1"], doc["sol2"]], "gold": doc["label"]}

    def doc_to_text(self, doc):
        return "Question: " + doc["goal"] + "\nAnswer:"


class HellaSwag(MultipleChoiceTask):
    @classmethod
    def preprocess(cls, text):
        text = text.strip()
        # NOTE: Brackets are artifacts of the WikiHow dataset portion of HellaSwag.
        text = text.replace(" [title]", ". ")
        text = re.sub("\\[.*?\\]", "", text)
        text = text.replace("  ", " ")
        return text

    def _convert_standard(self, doc):
        ctx = doc["ctx_a"] + " " + doc["ctx_b"].capitalize()
        return {
            "query": self.preprocess(doc["activity_label"] + ": " + ctx),
            "choices": [self.preprocess(ending) for ending in doc["endings"]],
            "gold": int(doc["label"]),
        }

    def doc_to_text(self, doc):
        return doc["query"]


# --- winogrande.py (986a7df8) -------------------------------------------------------------------------------------
class Winogrande:
    def doc_to_text(self, doc):
        return self.partial_context(doc, doc["option" + doc["answer"]])

    @classmethod
    def partial_context(cls, doc, option):
        pronoun_loc = doc["sentence"].index("_")
        return doc["sentence"][:pronoun_loc] + option

    def doc_to_target(self, doc):
        return self.partial_target(doc)

    @classmethod
    def partial_target(cls, doc):
        pronoun_loc = doc["sentence"].index("_") + 1
        return " " + doc["sentence"][pronoun_loc:].strip()

    def construct_requests(self, doc, ctx):
        target = self.partial_target(doc)
        lls = []
        for option in [doc["option1"], doc["option2"]]:
            partial_ctx = self.partial_context(doc, option)
            full_ctx = self.append_context(ctx, partial_ctx)
            lls.append((full_ctx, target))
        return lls

    @classmethod
    def append_context(cls, ctx, partial_ctx):
        ctx = ctx.split("\n\n")  # Each fewshot context is on its own new line.
        ctx.pop()  # Remove the correct context put in by `doc_to_text`.
        return "\n\n".join([*ctx, partial_ctx]) if ctx else partial_ctx


# --- anli.py (105fa974) -------------------------------------------------------------------------------------------
class ANLI:
    def doc_to_text(self, doc):
        return doc["premise"] + "\nQuestion: " + doc["hypothesis"] + " True, False, or Neither?\nAnswer:"

    def doc_to_target(self, doc):
        return " " + ["True", "Neither", "False"][doc["label"]]

    def construct_requests(self, doc, ctx):
        return [(ctx, " True"), (ctx, " Neither"), (ctx, " False")]


# --- glue.py RTE (4d147bdd), the prompt mtnlg gives HANS (the harness of that era has no HANS task) ------------
class RTEForHANS:
    def doc_to_text(self, doc):
        return "{}\nQuestion: {} True or False?\nAnswer:".format(doc["sentence1"], doc["sentence2"])

    def doc_to_target(self, doc):
        return " {}".format({0: "True", 1: "False"}[doc["label"]])

    def construct_requests(self, doc, ctx):
        return [(ctx, " True"), (ctx, " False")]


def fewshot_context(task, doc, fewshotex):  # base.py fewshot_context, the examples given
    labeled_examples = ""
    if fewshotex:
        labeled_examples = "\n\n".join([task.doc_to_text(d) + task.doc_to_target(d) for d in fewshotex]) + "\n\n"
    return labeled_examples + task.doc_to_text(doc)


def to_harness_doc(name, line):
    """A fixture line as the Hugging Face dataset the harness loads would hold it."""
    if name == "boolq":
        return {"passage": line["passage"], "question": line["question"],
                "label": int(line["label"] if "label" in line else line["answer"])}
    if name == "anli":
        label = line["label"]
        return {"premise": line.get("premise", line.get("context")), "hypothesis": line["hypothesis"],
                "label": {"e": 0, "n": 1, "c": 2}.get(label, label)}
    if name == "hans":
        label = line.get("label", line.get("gold_label"))
        return {"sentence1": line.get("premise", line.get("sentence1")),
                "sentence2": line.get("hypothesis", line.get("sentence2")),
                "label": {"entailment": 0, "non-entailment": 1}.get(label, label)}
    if name == "wic":
        return dict(line, label=int(line["label"]))
    if name == "piqa":
        return PiQA()._convert_standard(line)
    if name == "hellaswag":
        return HellaSwag()._convert_standard(line)
    return line


def harness_docs(name, lines):
    if name != "race":
        return [to_harness_doc(name, line) for line in lines]
    rows = []  # Hugging Face's race: one row per question
    for line in lines:
        if "questions" in line:
            for q, o, a in zip(line["questions"], line["options"], line["answers"]):
                rows.append({"article": line["article"], "question": q, "options": o, "answer": a})
        else:
            rows.append(line)
    return RACE.collate(rows)


TASK_CLASSES = {"lambada": Lambada, "boolq": BoolQ, "race": RACE, "piqa": PiQA, "hellaswag": HellaSwag,
                "winogrande": Winogrande, "anli": ANLI, "hans": RTEForHANS, "wic": WordsInContext}


def main():
    out = {}
    for name in TASKS:
        with open(os.path.join(FIXTURES, name + ".jsonl")) as f:
            lines = [json.loads(text) for text in f if text.strip()]
        docs = harness_docs(name, lines)
        task = TASK_CLASSES[name]()
        cases = []
        # Two documents zero-shot, then the first with two few-shot examples (the last document, then the
        # second), so that the composition is compared too.
        for doc_index, shots in [(0, []), (1, []), (0, [len(docs) - 1, 1])]:
            ctx = fewshot_context(task, docs[doc_index], [docs[i] for i in shots])
            cases.append({"document": doc_index, "shots": shots,
                          "requests": [list(r) for r in task.construct_requests(docs[doc_index], ctx)]})
        out[name] = cases
    json.dump(out, sys.stdout, indent=1, ensure_ascii=False)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
