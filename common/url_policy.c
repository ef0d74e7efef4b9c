/* url_policy.c - which URLs drugscan may fetch from or send to (catalog update, ledger sync). */
#include <curl/curl.h>
#include <string.h>

#include "ds_common.h"

int ds_url_policy_check(const char *url, ds_error *err)
{
	CURLU *u;
	char *scheme = NULL, *host = NULL;
	int ok = 0;

	if (!url)
		return ds_error_set(err, DS_EINVAL, "no URL given");
	u = curl_url();
	if (!u)
		return ds_error_set(err, DS_ENOMEM, "out of memory");
	/* libcurl's own parser, so the host checked is the host libcurl connects to */
	if (curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK) {
		curl_url_cleanup(u);
		return ds_error_set(err, DS_EINVAL, "refusing '%s': not a valid URL", url);
	}
	curl_url_get(u, CURLUPART_SCHEME, &scheme, 0);
	curl_url_get(u, CURLUPART_HOST, &host, 0);
	if (scheme && !strcmp(scheme, "https"))
		ok = 1;
	else if (scheme && !strcmp(scheme, "http") && host && ds_host_is_loopback(host))
		ok = 1;
	curl_free(scheme);
	curl_free(host);
	curl_url_cleanup(u);
	if (!ok)
		return ds_error_set(err, DS_EINVAL, "refusing '%s': only https:// (or http:// to this machine) is allowed", url);
	return DS_OK;
}
