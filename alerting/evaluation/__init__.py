"""One evaluation tick (`Evaluator.evaluate_tick(now)`) and the store it reads and writes. Imports every floor below."""
