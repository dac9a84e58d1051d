// The test suite's EPUBCheck: validates books in one Java process while the tests are still
// building more (EPUBCheck's own CLI takes one file per run, and each run pays seconds of JVM
// start-up). Reads one file name per line on standard input, relative to the working folder,
// until the input ends; answers each with one block on standard output:
//     @@BEGIN <name>
//     <EPUBCheck's messages, one per line>
//     @@END <fatal errors> <errors> <warnings>
// EPUBCheck's report prints to System.out and System.err: both are captured for each book, so
// nothing else can come between those lines.
// Run as: java -cp epubcheck.jar EpubCheckBatch.java < names
import com.adobe.epubcheck.api.EpubCheck;
import com.adobe.epubcheck.util.DefaultReportImpl;
import java.io.BufferedReader;
import java.io.ByteArrayOutputStream;
import java.io.File;
import java.io.FileDescriptor;
import java.io.FileOutputStream;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;

public class EpubCheckBatch {
    public static void main(String[] args) throws Exception {
        PrintStream answers = new PrintStream(new FileOutputStream(FileDescriptor.out), false, "UTF-8");
        PrintStream errors = System.err;
        System.setOut(errors);
        BufferedReader names = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
        String name;
        while ((name = names.readLine()) != null) {
            if (name.isEmpty()) {
                continue;
            }
            ByteArrayOutputStream said = new ByteArrayOutputStream();
            PrintStream capture = new PrintStream(said, true, "UTF-8");
            System.setOut(capture);
            System.setErr(capture);
            DefaultReportImpl report = new DefaultReportImpl(name);
            try {
                new EpubCheck(new File(name), report).doValidate();
            } finally {
                System.setOut(errors);
                System.setErr(errors);
            }
            answers.println("@@BEGIN " + name);
            answers.print(said.toString(StandardCharsets.UTF_8));
            answers.println("@@END " + report.getFatalErrorCount() + " " + report.getErrorCount() + " "
                + report.getWarningCount());
            answers.flush();
        }
    }
}
