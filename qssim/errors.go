package qssim

// AWS error codes the simulator answers with. Pass them to FailUser and FailNext
// instead of retyping the strings.
const (
	// The nine errors of the GetSessionEmbedUrl page.
	ErrAccessDenied           = "AccessDeniedException"
	ErrInternalFailure        = "InternalFailureException"
	ErrInvalidParameterValue  = "InvalidParameterValueException"
	ErrQuickSightUserNotFound = "QuickSightUserNotFoundException"
	ErrResourceExists         = "ResourceExistsException"
	ErrResourceNotFound       = "ResourceNotFoundException"
	ErrSessionLifetimeInvalid = "SessionLifetimeInMinutesInvalidException"
	ErrThrottling             = "ThrottlingException"
	ErrUnsupportedUserEdition = "UnsupportedUserEditionException"

	// Other QuickSight errors of the simulated operations.
	ErrResourceUnavailable    = "ResourceUnavailableException"
	ErrInvalidNextToken       = "InvalidNextTokenException"
	ErrPreconditionNotMet     = "PreconditionNotMetException"
	ErrLimitExceeded          = "LimitExceededException"
	ErrUnsupportedPricingPlan = "UnsupportedPricingPlanException"

	// Errors of the AWS front door (SigV4, routing), common to all services.
	ErrInvalidSignature           = "InvalidSignatureException"
	ErrUnrecognizedClient         = "UnrecognizedClientException"
	ErrIncompleteSignature        = "IncompleteSignatureException"
	ErrMissingAuthenticationToken = "MissingAuthenticationTokenException"
	ErrUnknownOperation           = "UnknownOperationException"
)

// errorStatus is the HTTP status QuickSight sends with each code. Codes not
// listed answer 400, the status AWS uses for client errors it does not model.
var errorStatus = map[string]int{
	ErrAccessDenied:               401,
	ErrInternalFailure:            500,
	ErrInvalidParameterValue:      400,
	ErrQuickSightUserNotFound:     404,
	ErrResourceExists:             409,
	ErrResourceNotFound:           404,
	ErrSessionLifetimeInvalid:     400,
	ErrThrottling:                 429,
	ErrUnsupportedUserEdition:     403,
	ErrResourceUnavailable:        503,
	ErrInvalidNextToken:           400,
	ErrPreconditionNotMet:         400,
	ErrLimitExceeded:              409,
	ErrUnsupportedPricingPlan:     403,
	ErrInvalidSignature:           403,
	ErrUnrecognizedClient:         403,
	ErrIncompleteSignature:        400,
	ErrMissingAuthenticationToken: 403,
	ErrUnknownOperation:           404,
}

// faultMessages are the messages of injected faults, worded like the API reference.
var faultMessages = map[string]string{
	ErrAccessDenied:           "You don't have access to this item. The provided credentials couldn't be validated.",
	ErrInternalFailure:        "An internal failure occurred.",
	ErrInvalidParameterValue:  "One or more parameters has a value that isn't valid.",
	ErrQuickSightUserNotFound: "The user with the provided name isn't found.",
	ErrResourceExists:         "The resource specified already exists.",
	ErrResourceNotFound:       "One or more resources can't be found.",
	ErrSessionLifetimeInvalid: "The session lifetime must be 15-600 minutes.",
	ErrThrottling:             "Rate exceeded",
	ErrUnsupportedUserEdition: "This operation is not supported by your QuickSight edition.",
	ErrResourceUnavailable:    "This resource is currently unavailable.",
}

// apiError is an AWS error answer: the code goes to X-Amzn-ErrorType, the
// message to the body.
type apiError struct {
	code    string
	message string
}

func (e *apiError) status() int {
	if s, ok := errorStatus[e.code]; ok {
		return s
	}
	return 400
}

func newError(code, message string) *apiError {
	return &apiError{code: code, message: message}
}

// faultError is the answer to an injected fault.
func faultError(code string) *apiError {
	msg, ok := faultMessages[code]
	if !ok {
		msg = code + " (injected by the QuickSight simulator)"
	}
	return newError(code, msg)
}
