"""Risk rules as data: loading, the condition language, compilation to Polars, evaluation.

Offers ``loader.load_ruleset``, ``model`` (Rule, RuleSet), ``compiler.CompiledRuleSet``,
``evaluator.RuleEvaluator``, ``cases`` (each rule's match and no-match cases, run by
``screening rules test``), ``governance`` (versions, reviews, backtest expectations),
``publish`` and ``source`` (the rule set as published on its compacted topic, held by the
worker).

Pure: imports ``contract``, ``screening``'s enrichment, ``reference`` and the bottom layer;
never ``worker``, ``kafka``, ``workbench``, ``cli``, Faust, a Kafka client or a database
driver (tests/unit/test_layering.py).
"""
