/* bench/hello.c: the ceiling responder: answers every request with a fixed
 * JSON body and does nothing else, so nginx -> FastCGI cost can be measured
 * in the same run as the real responders. */
#include <fcgiapp.h>

int
main(void)
{
	FCGX_Request	req;
	static const char reply[] = "Status: 200 OK\r\n"
	    "Content-Type: application/json\r\n\r\n{\"ok\":true}";

	FCGX_Init();
	FCGX_InitRequest(&req, 0, 0);
	while (FCGX_Accept_r(&req) >= 0) {
		FCGX_PutStr(reply, sizeof(reply) - 1, req.out);
		FCGX_Finish_r(&req);
	}
	return 0;
}
