# A syntax error here must not make flows.hcl report its zones as missing.
zone "pumps" { # ERROR: Unclosed configuration block
  criticality = "life_critical"
  vlan        = 210
