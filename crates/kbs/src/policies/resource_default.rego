package policy

import rego.v1

# Default resource policy: release only to an affirming appraisal of a hardware TEE.
# The software TEE (sample) is denied even if an attestation policy were to affirm it.
default allow := false

allow if {
	input.submods.cpu0["ear.status"] == "affirming"
	not input.submods.cpu0["ear.veraison.annotated-evidence"].sample
}
