"""What a policy would have done over stored data, judged by the evaluator itself. Imports alerting.evaluation and below."""
