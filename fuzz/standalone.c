/*
 * standalone.c - run a libFuzzer harness over files and directories without
 * libFuzzer, so the corpus runs as an ordinary test under gcc and the
 * sanitizers.
 */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int run_file(const char *path)
{
	FILE *f = fopen(path, "rb");
	uint8_t *buf = NULL;
	size_t cap = 0, len = 0, n;

	if (!f) {
		fprintf(stderr, "standalone: cannot open '%s'\n", path);
		return -1;
	}
	do {
		if (len == cap) {
			uint8_t *p;
			cap = cap ? cap * 2 : 4096;
			p = realloc(buf, cap);
			if (!p) {
				free(buf);
				fclose(f);
				return -1;
			}
			buf = p;
		}
		n = fread(buf + len, 1, cap - len, f);
		len += n;
	} while (n > 0);
	fclose(f);
	LLVMFuzzerTestOneInput(buf, len);
	free(buf);
	return 0;
}

static int run_path(const char *path, unsigned long *count)
{
	struct stat st;
	DIR *d;
	struct dirent *e;
	char child[4096];
	int rc = 0;

	if (stat(path, &st) != 0) {
		fprintf(stderr, "standalone: cannot stat '%s'\n", path);
		return -1;
	}
	if (!S_ISDIR(st.st_mode)) {
		(*count)++;
		return run_file(path);
	}
	d = opendir(path);
	if (!d)
		return -1;
	while ((e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		snprintf(child, sizeof(child), "%s/%s", path, e->d_name);
		rc |= run_path(child, count);
	}
	closedir(d);
	return rc;
}

int main(int argc, char **argv)
{
	unsigned long count = 0;
	int i, rc = 0;

	for (i = 1; i < argc; i++)
		rc |= run_path(argv[i], &count);
	printf("standalone: %lu inputs ran\n", count);
	return rc || count == 0 ? 1 : 0;
}
