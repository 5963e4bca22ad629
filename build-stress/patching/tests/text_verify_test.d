build-stress/patching/tests/text_verify_test.o: \
 patching/tests/text_verify_test.cpp kernel/test/ktest.h \
 patching/text_verify.h patching/text_writer.h kernel/lib/result.h \
 patching/transaction.h patching/strategy.h patching/scan.h
kernel/test/ktest.h:
patching/text_verify.h:
patching/text_writer.h:
kernel/lib/result.h:
patching/transaction.h:
patching/strategy.h:
patching/scan.h:
