/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Raw generic netlink for the selftests of the "ntvm" family: requests
 * built byte by byte (so that malformed ones can be made too) and replies
 * parsed by hand, with no library.
 */
#ifndef NTVM_NL_H
#define NTVM_NL_H

#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <linux/genetlink.h>
#include <linux/netlink.h>

#include <linux/ntvm_netlink.h>

#define NL_BUF	65536

struct nl {
	int fd;
	uint16_t family;
	uint32_t mcgrp;		/* the "events" group's id */
	uint32_t version;	/* the family's */
	uint32_t seq;
	unsigned int recvs;	/* recv() calls of the last nl_recv() */
};

/* A request under construction. */
struct nlreq {
	union {
		char buf[4096];
		struct nlmsghdr align;
	};
	size_t len;
};

static inline void req_init(struct nlreq *r, uint16_t type, uint16_t flags,
			    uint8_t cmd, uint8_t version)
{
	struct nlmsghdr *h = (struct nlmsghdr *)r->buf;
	struct genlmsghdr *g = NLMSG_DATA(h);

	memset(r->buf, 0, sizeof(r->buf));
	h->nlmsg_type = type;
	h->nlmsg_flags = NLM_F_REQUEST | flags;
	g->cmd = cmd;
	g->version = version;
	r->len = NLMSG_HDRLEN + GENL_HDRLEN;
}

/* An attribute of @len bytes (the header says @nla_len, normally 4+len). */
static inline void req_put_raw(struct nlreq *r, uint16_t type,
			       const void *data, size_t len, uint16_t nla_len)
{
	struct nlattr *a = (struct nlattr *)(r->buf + r->len);

	a->nla_type = type;
	a->nla_len = nla_len;
	if (len)
		memcpy(a + 1, data, len);
	r->len += NLA_ALIGN(NLA_HDRLEN + len);
}

static inline void req_put(struct nlreq *r, uint16_t type, const void *data,
			   size_t len)
{
	req_put_raw(r, type, data, len, NLA_HDRLEN + len);
}

static inline void req_put_u32(struct nlreq *r, uint16_t type, uint32_t v)
{
	req_put(r, type, &v, sizeof(v));
}

static inline int nl_send(struct nl *nl, struct nlreq *r)
{
	struct nlmsghdr *h = (struct nlmsghdr *)r->buf;
	struct sockaddr_nl sa = { .nl_family = AF_NETLINK };

	h->nlmsg_len = r->len;
	h->nlmsg_seq = ++nl->seq;
	if (sendto(nl->fd, r->buf, r->len, 0, (struct sockaddr *)&sa,
		   sizeof(sa)) != (ssize_t)r->len)
		return -errno;
	return 0;
}

/* Attributes of a payload by type (the last of each type wins). */
static inline void nl_parse(const void *data, size_t len,
			    const struct nlattr **tb, int max)
{
	const struct nlattr *a = data;

	memset(tb, 0, sizeof(*tb) * (max + 1));
	while (len >= NLA_HDRLEN && a->nla_len >= NLA_HDRLEN &&
	       a->nla_len <= len) {
		int type = a->nla_type & NLA_TYPE_MASK;

		if (type <= max)
			tb[type] = a;
		len -= NLA_ALIGN(a->nla_len) < len ? NLA_ALIGN(a->nla_len) : len;
		a = (const struct nlattr *)((const char *)a +
					    NLA_ALIGN(a->nla_len));
	}
}

static inline const void *nla_data_of(const struct nlattr *a)
{
	return (const char *)a + NLA_HDRLEN;
}

static inline uint32_t nla_u32(const struct nlattr *a)
{
	uint32_t v;

	memcpy(&v, nla_data_of(a), sizeof(v));
	return v;
}

static inline uint64_t nla_u64(const struct nlattr *a)
{
	uint64_t v;

	memcpy(&v, nla_data_of(a), sizeof(v));
	return v;
}

/* Genl attributes of a reply message. */
static inline void msg_parse(const struct nlmsghdr *h,
			     const struct nlattr **tb, int max)
{
	nl_parse((const char *)NLMSG_DATA(h) + GENL_HDRLEN,
		 h->nlmsg_len - NLMSG_HDRLEN - GENL_HDRLEN, tb, max);
}

typedef int (*nl_cb)(const struct nlmsghdr *h, void *arg);

/*
 * Replies to the last request, each message of the family to @cb, until
 * the ACK, the error or the end of the dump: 0 or -errno.
 */
static inline int nl_recv(struct nl *nl, nl_cb cb, void *arg)
{
	static char buf[NL_BUF] __attribute__((aligned(4)));
	int err = 0, done = 0;

	nl->recvs = 0;
	while (!done) {
		ssize_t n = recv(nl->fd, buf, sizeof(buf), 0);
		struct nlmsghdr *h;

		if (n < 0)
			return -errno;
		nl->recvs++;
		for (h = (struct nlmsghdr *)buf; NLMSG_OK(h, n);
		     h = NLMSG_NEXT(h, n)) {
			if (h->nlmsg_seq != nl->seq)
				continue;
			if (h->nlmsg_type == NLMSG_ERROR) {
				struct nlmsgerr *e = NLMSG_DATA(h);

				if (!err)
					err = e->error;
				done = 1;
			} else if (h->nlmsg_type == NLMSG_DONE) {
				int e;

				memcpy(&e, NLMSG_DATA(h), sizeof(e));
				if (!err)
					err = e;
				done = 1;
			} else if (cb && !err) {
				err = cb(h, arg);
			}
		}
	}
	return err;
}

static inline int nl_ctrl_cb(const struct nlmsghdr *h, void *arg)
{
	struct nl *nl = arg;
	const struct nlattr *tb[CTRL_ATTR_MAX + 1], *g;

	msg_parse(h, tb, CTRL_ATTR_MAX);
	if (!tb[CTRL_ATTR_FAMILY_ID] || !tb[CTRL_ATTR_VERSION])
		return -EPROTO;
	memcpy(&nl->family, nla_data_of(tb[CTRL_ATTR_FAMILY_ID]), 2);
	nl->version = nla_u32(tb[CTRL_ATTR_VERSION]);
	if (!tb[CTRL_ATTR_MCAST_GROUPS])
		return 0;
	g = nla_data_of(tb[CTRL_ATTR_MCAST_GROUPS]);
	for (size_t off = 0; off + NLA_HDRLEN <=
	     tb[CTRL_ATTR_MCAST_GROUPS]->nla_len - NLA_HDRLEN;) {
		const struct nlattr *e = (const void *)((const char *)g + off);
		const struct nlattr *m[CTRL_ATTR_MCAST_GRP_MAX + 1];

		if (e->nla_len < NLA_HDRLEN)
			break;
		nl_parse(nla_data_of(e), e->nla_len - NLA_HDRLEN, m,
			 CTRL_ATTR_MCAST_GRP_MAX);
		if (m[CTRL_ATTR_MCAST_GRP_NAME] && m[CTRL_ATTR_MCAST_GRP_ID] &&
		    !strcmp(nla_data_of(m[CTRL_ATTR_MCAST_GRP_NAME]),
			    NTVM_GENL_MCGRP_EVENTS))
			nl->mcgrp = nla_u32(m[CTRL_ATTR_MCAST_GRP_ID]);
		off += NLA_ALIGN(e->nla_len);
	}
	return 0;
}

/* Open a socket and find the family: 0 or -errno. */
static inline int nl_open(struct nl *nl)
{
	struct nlreq r;
	int err, one = 1;

	memset(nl, 0, sizeof(*nl));
	nl->fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_GENERIC);
	if (nl->fd < 0)
		return -errno;
	setsockopt(nl->fd, SOL_NETLINK, NETLINK_EXT_ACK, &one, sizeof(one));
	req_init(&r, GENL_ID_CTRL, NLM_F_ACK, CTRL_CMD_GETFAMILY, 1);
	req_put(&r, CTRL_ATTR_FAMILY_NAME, NTVM_GENL_NAME,
		sizeof(NTVM_GENL_NAME));
	err = nl_send(nl, &r);
	if (!err)
		err = nl_recv(nl, nl_ctrl_cb, nl);
	if (err)
		close(nl->fd);
	return err;
}

static inline void nl_close(struct nl *nl)
{
	close(nl->fd);
}

/* A request of the family: @cmd with optional pid and context. */
static inline void ntvm_req(struct nl *nl, struct nlreq *r, uint8_t cmd,
			    int dump)
{
	req_init(r, nl->family, dump ? NLM_F_DUMP : NLM_F_ACK, cmd,
		 NTVM_GENL_VERSION);
}

#endif /* NTVM_NL_H */
