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
	ErrExpiredToken               = "ExpiredTokenException"
)

// STS error codes. STS speaks the query protocol, whose front door names
// the same errors differently (ExpiredToken, not ExpiredTokenException).
const (
	ErrSTSAccessDenied               = "AccessDenied"
	ErrSTSValidation                 = "ValidationError"
	ErrSTSRegionDisabled             = "RegionDisabledException"
	ErrSTSThrottling                 = "Throttling"
	ErrSTSInvalidAction              = "InvalidAction"
	ErrSTSInternalFailure            = "InternalFailure"
	ErrSTSExpiredToken               = "ExpiredToken"
	ErrSTSInvalidClientTokenID       = "InvalidClientTokenId"
	ErrSTSSignatureDoesNotMatch      = "SignatureDoesNotMatch"
	ErrSTSIncompleteSignature        = "IncompleteSignature"
	ErrSTSMissingAuthenticationToken = "MissingAuthenticationToken"
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
	ErrExpiredToken:               403,
}

// stsErrorStatus is the HTTP status STS sends with each code; others answer 400.
var stsErrorStatus = map[string]int{
	ErrSTSAccessDenied:               403,
	ErrSTSRegionDisabled:             403,
	ErrSTSInternalFailure:            500,
	ErrSTSExpiredToken:               403,
	ErrSTSInvalidClientTokenID:       403,
	ErrSTSSignatureDoesNotMatch:      403,
	ErrSTSMissingAuthenticationToken: 403,
}

// stsFrontDoorCodes are the codes STS answers the front door's errors with.
var stsFrontDoorCodes = map[string]string{
	ErrInvalidSignature:           ErrSTSSignatureDoesNotMatch,
	ErrUnrecognizedClient:         ErrSTSInvalidClientTokenID,
	ErrIncompleteSignature:        ErrSTSIncompleteSignature,
	ErrMissingAuthenticationToken: ErrSTSMissingAuthenticationToken,
	ErrExpiredToken:               ErrSTSExpiredToken,
	ErrInternalFailure:            ErrSTSInternalFailure,
	ErrInvalidParameterValue:      ErrSTSValidation,
	ErrThrottling:                 ErrSTSThrottling,
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
	ErrSTSAccessDenied:        "Access denied",
	ErrSTSRegionDisabled:      "STS is not activated in this region for this account. Your account administrator can activate STS in this region using the IAM Console.",
	ErrSTSThrottling:          "Rate exceeded",
	ErrSTSInternalFailure:     "An internal error occurred.",
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

// stsStatus is status for an STS answer.
func (e *apiError) stsStatus() int {
	if s, ok := stsErrorStatus[e.code]; ok {
		return s
	}
	return 400
}

// frontDoorError names a front-door error (SigV4, an unreadable body, the rate limit) as
// service does: STS with its query-protocol codes.
func frontDoorError(service string, e *apiError) *apiError {
	if code, ok := stsFrontDoorCodes[e.code]; ok && service == stsService {
		return newError(code, e.message)
	}
	return e
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
