/*
 * TLS for the client: certificates are checked by OpenSSL contexts of
 * ours, one per CA file, each on an lws vhost of its own (one more vhost
 * for ws://). See client_internal.h.
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/x509.h>

#include "client_internal.h"
#include "alloc.h"

/* lws's words for a failed TLS handshake. */
static bool tls_failure(const char *msg)
{
	static const char *const prefixes[] = {
		"connect SSL", "connect SYSCALL", "connect unk",
		"server's cert", "Timed out waiting SSL", "bio_create failed",
		"tls restriction",
	};

	for (size_t i = 0; i < sizeof prefixes / sizeof prefixes[0]; i++)
		if (strncmp(msg, prefixes[i], strlen(prefixes[i])) == 0)
			return true;
	return false;
}

bool wv__tls_failed(struct wv_client *c, struct lws *wsi, const char *msg)
{
	SSL *ssl = lws_get_ssl(wsi);
	long v = ssl ? SSL_get_verify_result(ssl) : X509_V_OK;
	size_t n = strcspn(msg, "\r\n");

	if (!c->addr.tls || !tls_failure(msg))
		return false;
	if (v != X509_V_OK)
		wv__fail(c, WV_ERR_TLS, 0,
			 "TLS handshake with %s failed: certificate rejected (%s)",
			 c->hostport, X509_verify_cert_error_string(v));
	else if (strncmp(msg, "connect SSL err", 15) == 0)
		/* OpenSSL refused what came back, and lws has thrown its
		   reason away ("error:00000001:lib(0)::reason(1)"): most
		   often no TLS at all, a plain WebSocket server. */
		wv__fail(c, WV_ERR_TLS, 0, "TLS handshake with %s failed: the "
			 "server did not answer in TLS (is it ws:// rather than "
			 "wss://?)", c->hostport);
	else
		wv__fail(c, WV_ERR_TLS, 0, "TLS handshake with %s failed: %.*s",
			 c->hostport, (int)n, msg);
	return true;
}

static struct wv_client *client_of_ssl(struct wv_loop *loop, const SSL *ssl)
{
	for (struct wv_client *c = loop->clients; c; c = c->next)
		if (c->wsi && lws_get_ssl(c->wsi) == ssl)
			return c;
	return NULL;
}

static int verify_as_openssl(int ok, X509_STORE_CTX *x)
{
	(void)x;
	return ok;
}

/*
 * Certificate checks are ours, not lws's: its verify callback finds the
 * connection through an OpenSSL ex-data index that every lws context made
 * with LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT renumbers, process-wide, so a
 * second context (a second loop, the in-process server) can fail the
 * handshakes of the first. The host name check that lws set on the SSL
 * still applies: it is in the parameters X509_verify_cert() uses.
 */
static int verify_chain(X509_STORE_CTX *x, void *arg)
{
	struct wv_loop *loop = arg;
	SSL *ssl = X509_STORE_CTX_get_ex_data(x,
					      SSL_get_ex_data_X509_STORE_CTX_idx());
	struct wv_client *c = ssl ? client_of_ssl(loop, ssl) : NULL;

	if (c && c->cfg.insecure)
		return 1;
	X509_STORE_CTX_set_verify_cb(x, verify_as_openssl);
	return X509_verify_cert(x);
}

static SSL_CTX *tls_context(struct wv_loop *loop, const char *ca_file)
{
	SSL_CTX *ssl = SSL_CTX_new(TLS_client_method());

	if (!ssl)
		return NULL;
	SSL_CTX_set_min_proto_version(ssl, TLS1_2_VERSION);
	SSL_CTX_set_options(ssl, SSL_OP_NO_COMPRESSION);
	if (ca_file ? SSL_CTX_load_verify_locations(ssl, ca_file, NULL) != 1
		    : SSL_CTX_set_default_verify_paths(ssl) != 1) {
		SSL_CTX_free(ssl);
		return NULL;
	}
	SSL_CTX_set_cert_verify_callback(ssl, verify_chain, loop);
	return ssl;
}

/* The vhost for a call: one for ws://, one per CA file for wss://. */
int wv__vhost_for(struct wv_loop *loop, struct wv_client *c,
		  struct lws_vhost **out)
{
	struct lws_context_creation_info info;
	struct vhost_slot *s, *grown;
	bool tls = c->addr.tls;

	for (size_t i = 0; i < loop->n_vhosts; i++) {
		s = &loop->vhosts[i];
		if (s->tls == tls &&
		    (!tls || (!s->ca_file && !c->ca_file) ||
		     (s->ca_file && c->ca_file && !strcmp(s->ca_file, c->ca_file)))) {
			*out = s->vh;
			return 0;
		}
	}
	grown = wv_realloc(loop->vhosts, (loop->n_vhosts + 1) * sizeof *grown);
	if (!grown)
		return WV_ERR_NOMEM;
	loop->vhosts = grown;
	s = &loop->vhosts[loop->n_vhosts];
	memset(s, 0, sizeof *s);
	s->tls = tls;
	snprintf(s->name, sizeof s->name, "wvoice-%zu", loop->n_vhosts);
	if (tls) {
		if (c->ca_file && !(s->ca_file = wv__strdup(c->ca_file)))
			return WV_ERR_NOMEM;
		s->ssl = tls_context(loop, c->ca_file);
		if (!s->ssl) {
			wv_free(s->ca_file);
			wv__diagnose(c, WV_ERR_TLS, "cannot load %s%s",
				     c->ca_file ? "CA file " : "the system's CA store",
				     c->ca_file ? c->ca_file : "");
			return WV_ERR_TLS;
		}
	}
	memset(&info, 0, sizeof info);
	info.port = CONTEXT_PORT_NO_LISTEN;
	info.protocols = loop->protocols;
	info.vhost_name = s->name;
	info.gid = -1;
	info.uid = -1;
	info.connect_timeout_secs = LWS_TIMEOUT_S;
	info.alpn = "http/1.1";
	/* On the vhost only: lws needs it to take our SSL_CTX; on the
	   context it would renumber lws's OpenSSL indexes (verify_chain()). */
	if (tls) {
		info.options = LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT;
		info.provided_client_ssl_ctx = s->ssl;
	}
	s->vh = lws_create_vhost(loop->ctx, &info);
	if (!s->vh) {
		SSL_CTX_free(s->ssl);
		wv_free(s->ca_file);
		wv__diagnose(c, WV_ERR_INTERNAL, "cannot make a libwebsockets vhost");
		return WV_ERR_INTERNAL;
	}
	loop->n_vhosts++;
	*out = s->vh;
	return 0;
}

void wv__vhosts_free(struct wv_loop *loop)
{
	for (size_t i = 0; i < loop->n_vhosts; i++) {
		SSL_CTX_free(loop->vhosts[i].ssl);
		wv_free(loop->vhosts[i].ca_file);
	}
	wv_free(loop->vhosts);
	loop->vhosts = NULL;
	loop->n_vhosts = 0;
}
