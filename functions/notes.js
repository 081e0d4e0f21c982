// A drop-in in JavaScript that reads and writes data: served as webhook `notes` of service
// `http`. POST a JSON body {"text": …} to store a note; GET lists the newest ten. The data is in
// the embedded store atlas-fn starts (app_config/.atlas-fn/data/), or in your own cluster with
// --mongodb-uri / ATLAS_FN_MONGODB_URI.
//   curl -X POST --data-raw '{"text":"first"}' http://127.0.0.1:8080/api/client/v2.0/app/example-abcde/service/http/incoming_webhook/notes
//   curl http://127.0.0.1:8080/api/client/v2.0/app/example-abcde/service/http/incoming_webhook/notes
exports = async function (payload, response) {
  const notes = context.services.get("mongodb-atlas").db("example").collection("notes");
  if (payload.body) {
    const { text } = EJSON.parse(payload.body.text());
    const { insertedId } = await notes.insertOne({ text: String(text), at: new Date() });
    // once the response is touched, it is the answer, not the returned value (contract §4.2)
    response.setStatusCode(201);
    response.setHeader("Content-Type", "application/json");
    response.setBody(EJSON.stringify({ insertedId }));
    return;
  }
  return notes.find({}, { _id: 0, text: 1 }).sort({ at: -1 }).limit(10);
};
