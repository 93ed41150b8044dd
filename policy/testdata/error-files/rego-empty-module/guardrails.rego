# ERROR: Invalid Rego: rego_parse_error
