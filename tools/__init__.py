"""Tools for operators, agents and content owners: bench, catalogue, preview, audit."""
