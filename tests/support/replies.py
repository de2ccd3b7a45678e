"""What tests look for in replies, taken from the rules data, never retyped."""

from plan_coverage.engine import load_rules

# The ID-card line that closes every answer (plan_coverage/rules.yml, `phrases`).
ID_CARD = load_rules().phrases["id_card"]
